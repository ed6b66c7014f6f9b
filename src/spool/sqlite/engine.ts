/**
 * How SQLite runs the shared queue programs (spool/queue/): synchronously, inside one write of the store's group
 * commit, each statement prepared once. One writer, so nothing is locked and the one node owns every row.
 */
import type Database from 'better-sqlite3';
import type { EngineSql, Ownership } from '../queue/engine.js';
import { type Program, raw, runSync, type Stmt, type StmtResult, sql } from '../queue/program.js';

/** A report's queue id, or the queue id of the SMS a reply answers (the same expression as the index's). */
export const OUTBOX_QUEUE_ID_SQLITE =
  "coalesce(json_extract(facts, '$.queueId'), json_extract(facts, '$.original.queueId'))";

export const SQLITE_SQL: EngineSql = {
  locks: false,
  lockKeys: () => undefined,
  lockReply: () => undefined,
  tryLockReply: () => undefined,
  forUpdate: raw(''),
  skipLocked: raw(''),
  skipLockedOf: () => raw(''),
  outboxQueueId: raw(OUTBOX_QUEUE_ID_SQLITE),
  setPartId: (part, smscId) => sql`json_replace(smsc_ids, ${`$[${part}]`}, ${smscId})`,
  partStat: raw(`json_extract(s.receipts, '$[' || i.part || ']')`),
  smscIdSeq: raw('i.rowid'),
  earlyId: raw('rowid'),
  bool: (v) => (v ? 1 : 0),
  returningId: raw(''),
  byRecipient: raw(' INDEXED BY sms_recipient'),
};

export const SQLITE_OWNERSHIP: Ownership = {
  owned: () => raw('TRUE'),
  mine: () => raw('TRUE'),
  claimSet: () => raw(''),
  claimInsert: () => ({ columns: raw(''), values: raw('') }),
  release: raw(''),
  releaseWhen: () => raw(''),
};

/** Runs programs on one connection; `prepare` is the store's cache of prepared statements. */
export function sqliteRunner(prepare: (text: string) => Database.Statement) {
  const run = (s: Stmt): StmtResult => {
    const stmt = prepare(s.sql);
    if (stmt.reader) return { rows: stmt.all(...s.params) as Record<string, unknown>[], changes: 0 };
    const r = stmt.run(...s.params);
    return { rows: [], changes: r.changes, lastId: Number(r.lastInsertRowid) };
  };
  return <T>(program: Program<T>): T => runSync(program, run);
}
