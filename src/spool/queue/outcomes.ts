/**
 * What the relay's send outcomes do to a row and its parts, for every engine: a part's SMSC id recorded (and a
 * receipt that overtook it applied), a retry or a throttle (back to the queue; with new parts, the composite is
 * sent again whole and the abandoned attempt's ids are forgotten), a final state. Each is written only while this
 * node owns the row (ctx.own: the cluster's fencing; on SQLite the one node always does).
 */
import { idKeys, normaliseId } from '../../delivery/receipt-state.js';
import type { SendOutcome } from '../store.js';
import type { StoredPart } from '../types.js';
import type { QueueContext } from './engine.js';
import { type Program, raw, sql, changes } from './program.js';
import { idLocks, lock, resolveEarly } from './receipts.js';

/** Send outcomes in order, in the caller's transaction. */
export function* recordOutcomes(ctx: QueueContext, outcomes: readonly SendOutcome[]): Program<void> {
  for (const o of outcomes) {
    switch (o.op) {
      case 'submitted':
        yield* recordPart(ctx, o);
        break;
      case 'reschedule':
        yield* reschedule(ctx, o);
        break;
      case 'finish': {
        const changed = changes(
          yield sql`UPDATE sms SET state = ${o.state}, reason = ${o.reason}, updated_at = ${o.now}${ctx.own.release}
              WHERE id = ${o.id} AND ${ctx.own.owned()}`,
        );
        if (changed === 0) ctx.own.onFenced?.(o);
      }
    }
  }
}

/** A part was accepted by the SMSC with this id; `last`: the whole message is now submitted. */
function* recordPart(ctx: QueueContext, o: Extract<SendOutcome, { op: 'submitted' }>): Program<void> {
  yield* lock(ctx, () => idLocks(o.smscId));
  const becomesSubmitted = raw(`${o.last ? 'TRUE' : 'FALSE'} AND state = 'sending'`);
  // One UPDATE for the id and the state: the row is rewritten once per part, not twice.
  const changed = changes(
    yield sql`UPDATE sms SET smsc_ids = ${ctx.sql.setPartId(o.part, o.smscId)},
          first_submit_at = COALESCE(first_submit_at, ${o.now}), updated_at = ${o.now},
          state = CASE WHEN ${becomesSubmitted} THEN 'submitted' ELSE state END,
          reason = CASE WHEN ${becomesSubmitted} THEN NULL ELSE reason END${ctx.own.releaseWhen(becomesSubmitted)}
        WHERE id = ${o.id} AND ${ctx.own.owned()}`,
  );
  // The stored key is the id's normalised form; its other forms are worked out only to match a kept receipt.
  const key = normaliseId(o.smscId);
  if (changed === 0) {
    // Deposed (or the row is gone): the SMSC did take this part, so its id is kept, but never matched to the
    // attempt that replaced this one.
    changes(
      yield sql`INSERT INTO smsc_ids (key, sms_id, part, stale) SELECT ${key}, id, ${o.part}, TRUE FROM sms WHERE id = ${o.id}`,
    );
    ctx.own.onFenced?.(o);
    return;
  }
  changes(yield sql`INSERT INTO smsc_ids (key, sms_id, part) VALUES (${key}, ${o.id}, ${o.part})`);
  // A receipt that overtook this part's submit_sm_resp was kept: apply it now (one kept under another form of this
  // id goes where the rule says, which may be here, once no exact form can still come).
  if (ctx.early.mayExist()) yield* resolveEarly(ctx, [key, ...idKeys(o.smscId).alt], -Infinity, o.now);
}

/**
 * Back to the queue, to be tried again at `nextAt`. With `parts`, the message is sent again whole (a composite
 * with a new reference): the earlier attempt's ids, receipts and their times are forgotten, so a late receipt for
 * one of its ids cannot settle a part of the new attempt. `countAttempt: false` gives the attempt back.
 */
function* reschedule(ctx: QueueContext, o: Extract<SendOutcome, { op: 'reschedule' }>): Program<void> {
  const whole = o.parts ? resetParts(o.parts) : sql``;
  const giveBack = o.countAttempt === false ? raw(', attempts = attempts - 1') : sql``;
  const changed = changes(
    yield sql`UPDATE sms SET state = 'queued', reason = ${o.reason}, next_attempt_at = ${o.nextAt}, updated_at = ${o.now}${whole}${giveBack}${ctx.own.release}
        WHERE id = ${o.id} AND ${ctx.own.owned()}`,
  );
  if (changed === 0) {
    ctx.own.onFenced?.(o);
    return;
  }
  if (o.parts) changes(yield sql`DELETE FROM smsc_ids WHERE sms_id = ${o.id}`);
}

function resetParts(parts: readonly StoredPart[]) {
  const empty = JSON.stringify(parts.map(() => null));
  return sql`, parts = ${JSON.stringify(parts)}, smsc_ids = ${empty}, receipts = ${empty}, receipt_facts = '[]', first_submit_at = NULL`;
}
