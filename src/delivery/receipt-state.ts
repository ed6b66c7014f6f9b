/**
 * The receipt state rules, backend-neutral: how an SMSC message id is matched whatever form a receipt writes it
 * in, which stat settles a part, and how the parts' receipts make the recipient's state. A spool backend reads
 * and writes the facts; these functions decide. SMSCs disagree on the id's form between submit_sm_resp and the
 * receipt (case, leading zeros, hex vs decimal), so ids are matched through every form they can take.
 */
export function normaliseId(id: string): string {
  return id
    .trim()
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
}

/**
 * Every key a message id may be looked up by: its normalised form first (exact), then the other base (alt).
 * "00A1" → exact "a1", alt "161"; "161" → exact "161", alt "a1".
 */
export function idKeys(id: string): { exact: string; alt: string[] } {
  const exact = normaliseId(id);
  const alt: string[] = [];
  if (/^[0-9a-f]{1,15}$/.test(exact)) alt.push(normaliseId(BigInt(`0x${exact}`).toString(10)));
  if (/^\d{1,18}$/.test(exact)) alt.push(normaliseId(BigInt(exact).toString(16)));
  return { exact, alt: alt.filter((a) => a !== exact) };
}

export type AggregateState = 'delivered' | 'undeliverable' | 'expired' | undefined;

/** Stats that mean the part never reached the subscriber. */
const LOST = new Set(['UNDELIV', 'REJECTD', 'DELETED', 'UNKNOWN']);

/** One part's stat → its outcome; intermediate stats (ENROUTE, ACCEPTD) and none yet settle nothing. */
export function partOutcome(stat: string | null): AggregateState {
  if (stat === null) return undefined;
  if (LOST.has(stat)) return 'undeliverable';
  if (stat === 'EXPIRED') return 'expired';
  if (stat === 'DELIVRD') return 'delivered';
  return undefined;
}

/**
 * One receipt per part → the recipient's state. Any part lost means the subscriber did not get the message;
 * delivered needs every part delivered. Intermediate stats (ENROUTE, ACCEPTD) decide nothing.
 */
export function aggregate(stats: readonly (string | null)[]): AggregateState {
  const outcomes = stats.map(partOutcome);
  if (outcomes.includes('undeliverable')) return 'undeliverable';
  if (outcomes.includes('expired')) return 'expired';
  if (outcomes.length > 0 && outcomes.every((o) => o === 'delivered')) return 'delivered';
  return undefined;
}

/** The facts of a row a receipt is applied to. */
export interface ReceiptFacts<S extends string> {
  /** The row's state (a spool's SmsState): only 'submitted' and 'sending' are open to a receipt. */
  state: S;
  reason: string | null;
  /** Receipt stat per part so far. */
  receipts: readonly (string | null)[];
  /** How many parts the row has (its SMSC id slots). */
  partCount: number;
}

/** What a backend writes back after a receipt for `part`. */
export interface ReceiptEffect<S extends string> {
  receipts: (string | null)[];
  state: S | Exclude<AggregateState, undefined>;
  reason: string | null;
}

/**
 * A receipt for one part → the row's new receipts, state and reason. A receipt never reopens a final state; it can
 * only settle 'submitted' (or a 'sending' racing it).
 */
export function applyReceiptTo<S extends string>(
  row: ReceiptFacts<S>,
  part: number,
  stat: string,
  err: string | undefined,
): ReceiptEffect<S> {
  const receipts = [...row.receipts];
  receipts[part] = stat;
  const outcome = aggregate(receipts.slice(0, row.partCount));
  const open = row.state === 'submitted' || row.state === 'sending';
  const settles = outcome !== undefined && open;
  return {
    receipts,
    state: settles ? outcome : row.state,
    reason: settles && outcome !== 'delivered' ? `receipt stat:${stat}${err ? ` err:${err}` : ''}` : row.reason,
  };
}
