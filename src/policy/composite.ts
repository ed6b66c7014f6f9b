/**
 * The provider's composite-message rule: every part must reach the SMSC within a minute of the first, or the
 * operator may reject the message. The relay asks this module, the one place that knows the rule.
 */
export const COMPOSITE_WINDOW_MS = 60_000;
/** Stop trying to finish a composite this long before the window closes: the last part needs time to travel. */
export const COMPOSITE_MARGIN_MS = 5_000;

/** May another part of a composite whose first part was accepted at `firstAt` still be sent at `now`? */
export function compositeOpen(firstAt: number, now: number, windowMs = COMPOSITE_WINDOW_MS): boolean {
  return now - firstAt < windowMs - COMPOSITE_MARGIN_MS;
}
