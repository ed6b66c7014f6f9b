/**
 * When each part's receipt came, and its err: kept beside the receipts' stats for the web page's timeline. The
 * latest receipt of a part wins (an ENROUTE then DELIVRD shows the DELIVRD's time), as its stat does.
 */
import type { ReceiptFact } from './types.js';

export function withReceiptFact(
  facts: readonly (ReceiptFact | null)[],
  part: number,
  at: number,
  err: string | undefined,
): (ReceiptFact | null)[] {
  const next = [...facts];
  while (next.length <= part) next.push(null);
  next[part] = { at, err: err ?? null };
  return next;
}
