/**
 * The provider's composite-message rule: every part must reach the SMSC within a minute of the first, or the
 * operator may reject the message. The relay asks this module, the one place that knows the rule.
 */
export const COMPOSITE_WINDOW_MS = 60_000;
/** Stop trying to finish a composite a twelfth of the window (5 s of a minute) early: the last part must travel. */
const MARGIN_FRACTION = 1 / 12;

/**
 * May another part of a composite whose first part was accepted at `firstAt` still be sent at `now`?
 * A window of 0 disables the rule.
 */
export function compositeOpen(firstAt: number, now: number, windowMs = COMPOSITE_WINDOW_MS): boolean {
  if (windowMs <= 0) return true;
  return now - firstAt < windowMs * (1 - MARGIN_FRACTION);
}
