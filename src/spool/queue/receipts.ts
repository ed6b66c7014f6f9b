/**
 * How a delivery receipt finds its part and settles the message, for every engine: the rule itself is
 * chooseReceiptTarget's and applyReceiptTo's (src/delivery/receipt-state.ts); this is the reading and writing
 * around it. A receipt that overtakes its submit_sm_resp is kept in early_receipts and applied when the part's id
 * is recorded (recordPart) or when no exact form of its id can come any more (resolveAged).
 */
import {
  applyReceiptTo,
  chooseReceiptTarget,
  idKeys,
  normaliseId,
  type ReceiptCandidate,
  type ReceiptTarget,
} from '../../delivery/receipt-state.js';
import { withReceiptFact } from '../receipt-facts.js';
import type { ReceiptFact, ReceiptUpdate, SmsState } from '../types.js';
import type { QueueContext } from './engine.js';
import { json, list, numOrNull, type Program, sql, rowsOf, firstRow, changes } from './program.js';

/** Every form of an SMSC id: a receipt and its submit_sm_resp lock the same keys, whichever form each writes. */
export function idLocks(id: string): string[] {
  const { exact, alt } = idKeys(id);
  return [exact, ...alt].map((k) => `smsc:${k}`);
}

/** `keys` is called only where the engine locks (working out every form of an id is not free). */
export function* lock(ctx: QueueContext, keys: () => readonly string[]): Program<void> {
  if (!ctx.sql.locks) return;
  const stmt = ctx.sql.lockKeys(keys());
  if (stmt) changes(yield stmt);
}

/**
 * Parts holding a receipt's id in any of its forms, with the facts chooseReceiptTarget judges them by: exact ones
 * first (so colliding rows under other forms never crowd them out of the limit), then the latest.
 */
function* candidates(ctx: QueueContext, forms: readonly string[], exactKey: string): Program<ReceiptCandidate[]> {
  const seq = ctx.sql.smscIdSeq;
  const rows = rowsOf<{
    seq: unknown;
    key: string;
    sms_id: unknown;
    part: number;
    state: string;
    part_stat: string | null;
    first_submit_at: unknown;
  }>(
    yield sql`SELECT ${seq} AS seq, i.key, i.sms_id, i.part, s.state, ${ctx.sql.partStat} AS part_stat, s.first_submit_at
        FROM smsc_ids i JOIN sms s ON s.id = i.sms_id WHERE i.key IN (${list(forms)}) AND NOT i.stale
        ORDER BY CASE WHEN i.key = ${exactKey} THEN 0 ELSE 1 END, ${seq} DESC LIMIT 16`,
  );
  return rows.map((r) => ({
    smsId: Number(r.sms_id),
    part: r.part,
    exact: r.key === exactKey,
    seq: Number(r.seq),
    state: r.state,
    partStat: r.part_stat,
    submittedAt: numOrNull(r.first_submit_at),
  }));
}

/** A submit_sm may still be unanswered: some row is being sent (or its outcome is not written yet), on any node. */
function* sendingNow(): Program<boolean> {
  return firstRow(yield sql`SELECT 1 AS one FROM sms WHERE state = 'sending' LIMIT 1`) !== undefined;
}

/**
 * Where a receipt goes: the latest open part under its exact id at once; another form only once `exactMayCome`
 * says no exact form can still come. Every form is read in one statement (a round trip is what a receipt costs
 * on PostgreSQL); `exactMayCome` is asked only when the exact form finds no open part.
 */
function* targetOf(
  ctx: QueueContext,
  receiptId: string,
  submitAt: number | undefined,
  exactMayCome: () => Program<boolean>,
): Program<ReceiptTarget> {
  const { exact, alt } = idKeys(receiptId);
  const all = yield* candidates(ctx, [exact, ...alt], exact);
  const found = chooseReceiptTarget(alt.length > 0 ? all.filter((c) => c.exact) : all, {
    exactMayCome: true,
    submitAt,
  });
  if (found.kind === 'part') return found;
  return chooseReceiptTarget(all, { exactMayCome: yield* exactMayCome(), submitAt });
}

/** The receipt's effect on its part and message. `receivedAt`: when it came (earlier for one that was kept). */
function* applyToPart(
  ctx: QueueContext,
  smsId: number,
  part: number,
  stat: string,
  err: string | undefined,
  now: number,
  receivedAt = now,
): Program<ReceiptUpdate | undefined> {
  // Only what the receipt changes or reports: the whole row (text, parts) cost more to read than the update.
  const raw = firstRow<{
    queue_id: string;
    recipient: string;
    state: SmsState;
    reason: string | null;
    smsc_ids: unknown;
    receipts: unknown;
    receipt_facts: unknown;
  }>(
    yield sql`SELECT queue_id, recipient, state, reason, smsc_ids, receipts, receipt_facts FROM sms WHERE id = ${smsId}${ctx.sql.forUpdate}`,
  );
  if (!raw) return undefined;
  const effect = applyReceiptTo(
    {
      state: raw.state,
      reason: raw.reason,
      receipts: json<(string | null)[]>(raw.receipts),
      partCount: json<unknown[]>(raw.smsc_ids).length,
    },
    part,
    stat,
    err,
  );
  const facts = withReceiptFact(json<(ReceiptFact | null)[]>(raw.receipt_facts), part, receivedAt, err);
  changes(
    yield sql`UPDATE sms SET receipts = ${JSON.stringify(effect.receipts)}, receipt_facts = ${JSON.stringify(facts)},
        state = ${effect.state}, reason = ${effect.reason}, updated_at = ${now} WHERE id = ${smsId}`,
  );
  return { id: smsId, queueId: raw.queue_id, recipient: raw.recipient, part, state: effect.state };
}

/**
 * A receipt: applied to the part the rule places it on, kept ('early') when no part can take it yet, or 'repeat'
 * when every part it could be about already has its final receipt. `submitAt`: the receipt's own submit date.
 */
export function* applyReceipt(
  ctx: QueueContext,
  receiptId: string,
  stat: string,
  err: string | undefined,
  now: number,
  submitAt: number | undefined,
): Program<ReceiptUpdate | 'early' | 'repeat'> {
  yield* lock(ctx, () => idLocks(receiptId));
  const target = yield* targetOf(ctx, receiptId, submitAt, sendingNow);
  if (target.kind === 'repeat') return 'repeat';
  const update =
    target.kind === 'part' ? yield* applyToPart(ctx, target.smsId, target.part, stat, err, now) : undefined;
  if (update) return update;
  changes(
    yield sql`INSERT INTO early_receipts (key, stat, err, received_at, submit_at)
        VALUES (${normaliseId(receiptId)}, ${stat}, ${err ?? null}, ${now}, ${submitAt ?? null})`,
  );
  ctx.early.added(1);
  return 'early';
}

/**
 * Kept receipts under these keys tried again by the rule: those it now places are applied and removed, repeats
 * removed, the rest stay. `settledBefore`: a receipt kept before it came when every submit then in flight had
 * been answered or had timed out, so its exact form can no longer come; a later one may go to another form only
 * while nothing is being sent. `only`: just this kept receipt (resolveAged's one per transaction).
 */
export function* resolveEarly(
  ctx: QueueContext,
  keys: readonly string[],
  settledBefore: number,
  now: number,
  only?: number,
): Program<ReceiptUpdate[]> {
  if (!ctx.early.mayExist()) return [];
  const id = ctx.sql.earlyId;
  const which = only === undefined ? sql`` : sql` AND ${id} = ${only}`;
  const early = rowsOf<{
    id: unknown;
    key: string;
    stat: string;
    err: string | null;
    received_at: unknown;
    submit_at: unknown;
  }>(
    yield sql`SELECT ${id} AS id, key, stat, err, received_at, submit_at FROM early_receipts
        WHERE key IN (${list(keys)})${which} ORDER BY ${id}${ctx.sql.skipLocked}`,
  );
  const updates: ReceiptUpdate[] = [];
  let sending: boolean | undefined;
  for (const r of early) {
    const receivedAt = Number(r.received_at);
    const exactMayCome = function* (): Program<boolean> {
      if (receivedAt < settledBefore) return false;
      sending ??= yield* sendingNow();
      return sending;
    };
    const target = yield* targetOf(ctx, r.key, numOrNull(r.submit_at) ?? undefined, exactMayCome);
    if (target.kind === 'wait') continue;
    changes(yield sql`DELETE FROM early_receipts WHERE ${id} = ${Number(r.id)}`);
    ctx.early.added(-1);
    if (target.kind !== 'part') continue;
    const u = yield* applyToPart(ctx, target.smsId, target.part, r.stat, r.err ?? undefined, now, receivedAt);
    if (u) updates.push(u);
    // The rows this changed may make a later kept receipt's answer different: read sendingNow again.
    sending = undefined;
  }
  return updates;
}

/** Kept receipts old enough that no exact form of their id can come any more (at most 500 a sweep). */
export function* agedEarly(ctx: QueueContext, settledBefore: number): Program<Array<{ id: number; key: string }>> {
  if (!ctx.early.mayExist()) return [];
  const id = ctx.sql.earlyId;
  const rows = rowsOf<{ id: unknown; key: string }>(
    yield sql`SELECT ${id} AS id, key FROM early_receipts WHERE received_at < ${settledBefore} ORDER BY ${id} LIMIT 500`,
  );
  return rows.map((r) => ({ id: Number(r.id), key: r.key }));
}

/** One aged kept receipt tried again, taking its id's locks as a receipt does (its own transaction on PostgreSQL). */
export function* resolveAged(
  ctx: QueueContext,
  aged: { id: number; key: string },
  settledBefore: number,
  now: number,
): Program<ReceiptUpdate[]> {
  yield* lock(ctx, () => idLocks(aged.key));
  return yield* resolveEarly(ctx, [aged.key], settledBefore, now, aged.id);
}
