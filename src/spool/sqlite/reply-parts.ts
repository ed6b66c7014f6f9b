/**
 * The SQLite side of reply reassembly (issue 15): parts of a concatenated reply wait in `reply_parts` until their
 * message is complete or timed out. SQLite has one writer, so the transaction that completes a message needs no
 * lock of its own; each function runs inside the store's group commit (one transaction).
 */
import type Database from 'better-sqlite3';
import { assemble, complete, type HeldPart, type PartKey, type Reassembled } from '../../sms/reassembly.js';
import type { ReplyOutcome, ReplyPart, WholeReply, WholeReplyHandling } from '../outbox-contract.js';
import { storeReply } from './outbox.js';

export const REPLY_PARTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS reply_parts (
  source_addr TEXT NOT NULL,
  destination_addr TEXT NOT NULL,
  ref INTEGER NOT NULL,
  total INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  data_coding INTEGER NOT NULL,
  body BLOB NOT NULL,
  arrived_at INTEGER NOT NULL,
  PRIMARY KEY (source_addr, destination_addr, ref, total, seq)
);
`;

const KEY_WHERE = 'source_addr = ? AND destination_addr = ? AND ref = ? AND total = ?';
const keyParams = (k: PartKey) => [k.from, k.to, k.ref, k.total];

interface RawPart {
  seq: number;
  body: Buffer;
  data_coding: number;
}

function held(db: Database.Database, key: PartKey): { parts: HeldPart[]; dataCoding: number } | undefined {
  const rows = db
    .prepare(`SELECT seq, body, data_coding FROM reply_parts WHERE ${KEY_WHERE} ORDER BY seq`)
    .all(...keyParams(key)) as RawPart[];
  const first = rows[0];
  if (!first) return undefined;
  return { parts: rows.map((r) => ({ seq: Number(r.seq), body: r.body })), dataCoding: Number(first.data_coding) };
}

/** The whole reply stored as a lone SMS is: mailed (replies on) or kept for `smtp2sms queue`. */
function settle(db: Database.Database, reply: Reassembled, now: number, how: WholeReplyHandling): ReplyOutcome {
  const sms = { sourceAddr: reply.from, destinationAddr: reply.to, dataCoding: reply.dataCoding, text: reply.text };
  if (how.replies) return storeReply(db, sms, now, how.replies);
  db.prepare(
    'INSERT INTO inbound (received_at, source_addr, destination_addr, data_coding, text) VALUES (?, ?, ?, ?, ?)',
  ).run(now, sms.sourceAddr, sms.destinationAddr, sms.dataCoding, sms.text);
  return { kind: 'kept' };
}

export function storeReplyPart(
  db: Database.Database,
  part: ReplyPart,
  now: number,
  how: WholeReplyHandling,
): WholeReply | undefined {
  // A resent part replaces the earlier copy; the first arrival time stays (the timeout counts from it).
  db.prepare(
    `INSERT INTO reply_parts (source_addr, destination_addr, ref, total, seq, data_coding, body, arrived_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (source_addr, destination_addr, ref, total, seq) DO UPDATE SET body = excluded.body`,
  ).run(...keyParams(part), part.seq, part.dataCoding, part.body, now);
  const h = held(db, part);
  const meta = { from: part.from, to: part.to, dataCoding: h?.dataCoding ?? part.dataCoding };
  const reply = h && complete(meta, part.total, h.parts, how.systemType);
  if (!reply) return undefined;
  db.prepare(`DELETE FROM reply_parts WHERE ${KEY_WHERE}`).run(...keyParams(part));
  return { reply, outcome: settle(db, reply, now, how) };
}

interface RawKey {
  source_addr: string;
  destination_addr: string;
  ref: number;
  total: number;
}

export function expireReplyParts(
  db: Database.Database,
  now: number,
  timeoutMs: number,
  how: WholeReplyHandling,
): WholeReply[] {
  const keys = db
    .prepare(
      `SELECT source_addr, destination_addr, ref, total FROM reply_parts
       GROUP BY source_addr, destination_addr, ref, total HAVING MIN(arrived_at) <= ?
       ORDER BY MIN(arrived_at) LIMIT 100`,
    )
    .all(now - timeoutMs) as RawKey[];
  const out: WholeReply[] = [];
  for (const k of keys) {
    const key = { from: k.source_addr, to: k.destination_addr, ref: Number(k.ref), total: Number(k.total) };
    const h = held(db, key);
    if (!h) continue;
    const reply = assemble(
      { from: key.from, to: key.to, dataCoding: h.dataCoding },
      key.total,
      h.parts,
      how.systemType,
    );
    db.prepare(`DELETE FROM reply_parts WHERE ${KEY_WHERE}`).run(...keyParams(key));
    out.push({ reply, outcome: settle(db, reply, now, how) });
  }
  return out;
}
