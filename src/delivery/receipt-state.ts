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

/**
 * A part a receipt's id may be about: it holds the id in one of the receipt's forms. `exact`: stored in the
 * receipt's own normalised form (not only another base of it). `seq`: the order the parts were given their ids.
 */
export interface ReceiptCandidate {
  smsId: number;
  part: number;
  exact: boolean;
  seq: number;
  /** The row's state (only 'submitted' and 'sending' are open to a receipt). */
  state: string;
  /** The receipt the part has so far. */
  partStat: string | null;
  /** When the row's first part was submitted, by this spool's clock. */
  submittedAt: number | null;
}

export interface ReceiptContext {
  /**
   * A submit_sm is still unanswered, so the receipt's exact form may yet be recorded (the receipt overtook its
   * submit_sm_resp). False once every submit in flight when the receipt came has been answered or has timed out.
   */
  exactMayCome: boolean;
  /** The receipt's own `submit date`, read as UTC (ms); undefined when it has none. */
  submitAt: number | undefined;
}

/**
 * An SMSC writes `submit date` in its own time zone, which the bridge is not told: a row submitted more than this
 * before the receipt's submit date read as UTC is older than the message the receipt is about in any time zone
 * (UTC−12 … UTC+14), plus the date's one minute of resolution.
 */
export const SUBMIT_DATE_SLACK_MS = (14 * 60 + 2) * 60_000;

/** A part without its final receipt yet (an intermediate one, ENROUTE or ACCEPTD, leaves it open). */
const partOpen = (c: ReceiptCandidate): boolean => partOutcome(c.partStat) === undefined;
/** ... in a row that is not final either: only such a part may take a receipt under another form of its id. */
const rowOpen = (c: ReceiptCandidate): boolean => (c.state === 'submitted' || c.state === 'sending') && partOpen(c);

const latestOf = (cs: readonly ReceiptCandidate[]): ReceiptCandidate | undefined =>
  cs.reduce<ReceiptCandidate | undefined>((a, c) => (a === undefined || c.seq > a.seq ? c : a), undefined);

export type ReceiptTarget =
  | { kind: 'part'; smsId: number; part: number }
  /** Keep the receipt: its part's id is not known yet (or may still come in the exact form). */
  | { kind: 'wait' }
  /** Every part it could be about already has its final receipt: a repeat, acknowledged and dropped. */
  | { kind: 'repeat' };

/**
 * Which part a receipt settles. A receipt may only be used up where it cannot take another message's receipt:
 * - the latest part under the receipt's exact id that has no final receipt yet wins (its row may be final already:
 *   another part's receipt settled it, and this one still belongs on the timeline);
 * - another form (the other base) counts only once no exact form can still come, and only for an open part whose
 *   row is not older than the receipt's own submit date: a receipt that overtook its submit_sm_resp must not
 *   settle an older message whose id reads the same in the other base, and leave its own stuck in `submitted`;
 * - under another form, a final row is never a candidate; under any form, a part that already has its final
 *   receipt is not: a receipt that finds only those is a repeat once no exact form can still come (until then it
 *   may be the first receipt of an id the SMSC gave again).
 */
export function chooseReceiptTarget(cands: readonly ReceiptCandidate[], ctx: ReceiptContext): ReceiptTarget {
  const exact = latestOf(cands.filter((c) => c.exact && partOpen(c)));
  if (exact) return { kind: 'part', smsId: exact.smsId, part: exact.part };
  if (ctx.exactMayCome) return { kind: 'wait' };
  const notOlder = (c: ReceiptCandidate) =>
    ctx.submitAt === undefined || c.submittedAt === null || c.submittedAt >= ctx.submitAt - SUBMIT_DATE_SLACK_MS;
  const alt = latestOf(cands.filter((c) => !c.exact && rowOpen(c) && notOlder(c)));
  if (alt) return { kind: 'part', smsId: alt.smsId, part: alt.part };
  return cands.some((c) => !partOpen(c)) ? { kind: 'repeat' } : { kind: 'wait' };
}

/** A receipt's `submit date` (YYMMDDhhmm[ss]) as ms since the epoch, read as UTC; undefined when not a date. */
export function receiptDateMs(date: string | undefined): number | undefined {
  const m = date ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?$/.exec(date) : null;
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  return Date.UTC(2000 + y, mo - 1, d, h, mi, s);
}
