/**
 * The PostgreSQL side of reply reassembly (issue 15): parts of a concatenated reply wait in `reply_parts` until
 * their message is complete or timed out. With several nodes the parts of one message may arrive on different
 * binds at once: each transaction takes an advisory lock on the message's key first, so the one that inserts the
 * last part sees every other (committed) part and no two transactions both wait or both complete.
 */
import type pg from 'pg';
import { assemble, complete, type HeldPart, type PartKey, type Reassembled } from '../../sms/reassembly.js';
import type { ReplyOutcome, ReplyPart, WholeReply, WholeReplyHandling } from '../outbox-contract.js';
import { storeReply } from './outbox.js';
import { LOCK_SPACE } from './session-lock.js';

type Client = pg.PoolClient;

export const REPLY_PARTS_MIGRATION_SQL = `
CREATE TABLE reply_parts (
  source_addr text NOT NULL,
  destination_addr text NOT NULL,
  ref integer NOT NULL,
  total integer NOT NULL,
  seq integer NOT NULL,
  data_coding integer NOT NULL,
  body bytea NOT NULL,
  arrived_at bigint NOT NULL,
  PRIMARY KEY (source_addr, destination_addr, ref, total, seq)
);
`;

/** Two-int4 advisory keys of their own: the next space after LOCK_SPACE's (session locks). */
export const REPLY_PARTS_SPACE = LOCK_SPACE.binds + 1;

const KEY_WHERE = 'source_addr = $1 AND destination_addr = $2 AND ref = $3 AND total = $4';
const keyParams = (k: PartKey) => [k.from, k.to, k.ref, k.total];
const keyName = (k: PartKey) => JSON.stringify([k.from, k.to, k.ref, k.total]);

async function held(c: Client, key: PartKey): Promise<{ parts: HeldPart[]; dataCoding: number } | undefined> {
  const rows = (
    await c.query(`SELECT seq, body, data_coding FROM reply_parts WHERE ${KEY_WHERE} ORDER BY seq`, keyParams(key))
  ).rows as { seq: number; body: Buffer; data_coding: number }[];
  const first = rows[0];
  if (!first) return undefined;
  return { parts: rows.map((r) => ({ seq: Number(r.seq), body: r.body })), dataCoding: Number(first.data_coding) };
}

async function settle(c: Client, reply: Reassembled, now: number, how: WholeReplyHandling): Promise<ReplyOutcome> {
  const sms = { sourceAddr: reply.from, destinationAddr: reply.to, dataCoding: reply.dataCoding, text: reply.text };
  if (how.replies) return storeReply(c, sms, now, how.replies);
  await c.query(
    'INSERT INTO inbound (received_at, source_addr, destination_addr, data_coding, text) VALUES ($1, $2, $3, $4, $5)',
    [now, sms.sourceAddr, sms.destinationAddr, sms.dataCoding, sms.text],
  );
  return { kind: 'kept' };
}

export async function storeReplyPart(
  c: Client,
  part: ReplyPart,
  now: number,
  how: WholeReplyHandling,
): Promise<WholeReply | undefined> {
  await c.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2))', [REPLY_PARTS_SPACE, keyName(part)]);
  // A resent part replaces the earlier copy; the first arrival time stays (the timeout counts from it).
  await c.query(
    `INSERT INTO reply_parts (source_addr, destination_addr, ref, total, seq, data_coding, body, arrived_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (source_addr, destination_addr, ref, total, seq) DO UPDATE SET body = EXCLUDED.body`,
    [...keyParams(part), part.seq, part.dataCoding, part.body, now],
  );
  const h = await held(c, part);
  const meta = { from: part.from, to: part.to, dataCoding: h?.dataCoding ?? part.dataCoding };
  const reply = h && complete(meta, part.total, h.parts, how.systemType);
  if (!reply) return undefined;
  await c.query(`DELETE FROM reply_parts WHERE ${KEY_WHERE}`, keyParams(part));
  return { reply, outcome: await settle(c, reply, now, how) };
}

export async function expireReplyParts(
  c: Client,
  now: number,
  timeoutMs: number,
  how: WholeReplyHandling,
): Promise<WholeReply[]> {
  const keys = (
    await c.query(
      `SELECT source_addr, destination_addr, ref, total FROM reply_parts
       GROUP BY source_addr, destination_addr, ref, total HAVING MIN(arrived_at) <= $1 ORDER BY MIN(arrived_at) LIMIT 100`,
      [now - timeoutMs],
    )
  ).rows as { source_addr: string; destination_addr: string; ref: number; total: number }[];
  const out: WholeReply[] = [];
  for (const k of keys) {
    const key = { from: k.source_addr, to: k.destination_addr, ref: Number(k.ref), total: Number(k.total) };
    // A key another transaction holds (a part arriving, another node's sweep) is left to it or the next sweep.
    const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1::int4, hashtext($2)) AS ok', [
      REPLY_PARTS_SPACE,
      keyName(key),
    ]);
    if (!got.rows[0]?.ok) continue;
    const h = await held(c, key);
    if (!h) continue;
    const reply = assemble(
      { from: key.from, to: key.to, dataCoding: h.dataCoding },
      key.total,
      h.parts,
      how.systemType,
    );
    await c.query(`DELETE FROM reply_parts WHERE ${KEY_WHERE}`, keyParams(key));
    out.push({ reply, outcome: await settle(c, reply, now, how) });
  }
  return out;
}
