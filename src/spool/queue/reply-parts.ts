/**
 * Reply reassembly for every engine: the parts of a concatenated reply wait in `reply_parts` until
 * their message is complete or timed out. With several nodes the parts of one message may arrive on different
 * binds at once: each transaction locks the message's key first (EngineSql.lockReply; SQLite has one writer and
 * needs none), so the one that inserts the last part sees every other committed part, and no two transactions
 * both wait or both complete.
 */
import { assemble, complete, type HeldPart, type PartKey, type Reassembled } from '../../sms/reassembly.js';
import type { ReplyOutcome, ReplyPart, WholeReply, WholeReplyHandling } from '../outbox-contract.js';
import type { QueueContext } from './engine.js';
import { storeInbound } from './lifecycle.js';
import { storeReply } from './outbox.js';
import { type Program, sql, rowsOf, firstRow, changes } from './program.js';

const keyName = (k: PartKey) => JSON.stringify([k.from, k.to, k.ref, k.total]);
const keyWhere = (k: PartKey) =>
  sql`source_addr = ${k.from} AND destination_addr = ${k.to} AND ref = ${k.ref} AND total = ${k.total}`;

function* held(key: PartKey): Program<{ parts: HeldPart[]; dataCoding: number } | undefined> {
  const rows = rowsOf<{ seq: unknown; body: Buffer; data_coding: unknown }>(
    yield sql`SELECT seq, body, data_coding FROM reply_parts WHERE ${keyWhere(key)} ORDER BY seq`,
  );
  const head = rows[0];
  if (!head) return undefined;
  return { parts: rows.map((r) => ({ seq: Number(r.seq), body: r.body })), dataCoding: Number(head.data_coding) };
}

/** The whole reply, stored as a lone SMS is: mailed (replies on) or kept for `smtp2sms queue`. */
function* settle(ctx: QueueContext, reply: Reassembled, now: number, how: WholeReplyHandling): Program<ReplyOutcome> {
  const sms = { sourceAddr: reply.from, destinationAddr: reply.to, dataCoding: reply.dataCoding, text: reply.text };
  if (how.replies) return yield* storeReply(ctx, sms, now, how.replies);
  yield* storeInbound(sms, now);
  return { kind: 'kept' };
}

export function* storeReplyPart(
  ctx: QueueContext,
  part: ReplyPart,
  now: number,
  how: WholeReplyHandling,
): Program<WholeReply | undefined> {
  const lock = ctx.sql.lockReply(keyName(part));
  if (lock) changes(yield lock);
  // A resent part replaces the earlier copy; the first arrival time stays (the timeout counts from it).
  changes(
    yield sql`INSERT INTO reply_parts (source_addr, destination_addr, ref, total, seq, data_coding, body, arrived_at)
        VALUES (${part.from}, ${part.to}, ${part.ref}, ${part.total}, ${part.seq}, ${part.dataCoding}, ${part.body}, ${now})
        ON CONFLICT (source_addr, destination_addr, ref, total, seq) DO UPDATE SET body = excluded.body`,
  );
  const h = yield* held(part);
  const meta = { from: part.from, to: part.to, dataCoding: h?.dataCoding ?? part.dataCoding };
  const reply = h && complete(meta, part.total, h.parts, how.systemType);
  if (!reply) return undefined;
  changes(yield sql`DELETE FROM reply_parts WHERE ${keyWhere(part)}`);
  return { reply, outcome: yield* settle(ctx, reply, now, how) };
}

/** Messages whose first part came `timeoutMs` ago are stored as they are, gaps marked (at most 100 a sweep). */
export function* expireReplyParts(
  ctx: QueueContext,
  now: number,
  timeoutMs: number,
  how: WholeReplyHandling,
): Program<WholeReply[]> {
  const keys = rowsOf<{ source_addr: string; destination_addr: string; ref: unknown; total: unknown }>(
    yield sql`SELECT source_addr, destination_addr, ref, total FROM reply_parts
        GROUP BY source_addr, destination_addr, ref, total HAVING MIN(arrived_at) <= ${now - timeoutMs}
        ORDER BY MIN(arrived_at) LIMIT 100`,
  );
  const out: WholeReply[] = [];
  for (const k of keys) {
    const key = { from: k.source_addr, to: k.destination_addr, ref: Number(k.ref), total: Number(k.total) };
    // A key another transaction holds (a part arriving, another node's sweep) is left to it or the next sweep.
    const tryLock = ctx.sql.tryLockReply(keyName(key));
    if (tryLock && !firstRow<{ ok: boolean }>(yield tryLock)?.ok) continue;
    const h = yield* held(key);
    if (!h) continue;
    const reply = assemble(
      { from: key.from, to: key.to, dataCoding: h.dataCoding },
      key.total,
      h.parts,
      how.systemType,
    );
    changes(yield sql`DELETE FROM reply_parts WHERE ${keyWhere(key)}`);
    out.push({ reply, outcome: yield* settle(ctx, reply, now, how) });
  }
  return out;
}
