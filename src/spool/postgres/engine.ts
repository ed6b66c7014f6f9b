/**
 * How PostgreSQL runs the shared queue programs (spool/queue/): each statement awaited on the transaction's
 * connection, its `?` placeholders numbered. Several nodes write at once, so a receipt and the id it matches
 * serialise on advisory locks, rows another transaction holds are skipped, and a send outcome is written only by
 * the row's owner in the binds lease's current epoch.
 */
import type pg from 'pg';
import type { SendOutcome } from '../store.js';
import { LOCK_SPACE } from './session-lock.js';
import type { EngineSql, Ownership } from '../queue/engine.js';
import { type Fragment, type Program, raw, runAsync, type Stmt, sql } from '../queue/program.js';

/** Two-int4 advisory keys of reply reassembly: the next space after LOCK_SPACE's (session locks). */
export const REPLY_PARTS_SPACE = LOCK_SPACE.binds + 1;

export const POSTGRES_SQL: EngineSql = {
  // In one fixed order, so no two transactions deadlock.
  locks: true,
  lockKeys: (keys) =>
    sql`SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext(t) AS k FROM unnest(${keys}::text[]) AS t ORDER BY 1) s`,
  // Two-int4 keys of their own: the space after the session locks' (session-lock.ts).
  lockReply: (key) => sql`SELECT pg_advisory_xact_lock(${REPLY_PARTS_SPACE}::int4, hashtext(${key}))`,
  tryLockReply: (key) => sql`SELECT pg_try_advisory_xact_lock(${REPLY_PARTS_SPACE}::int4, hashtext(${key})) AS ok`,
  forUpdate: raw(' FOR UPDATE'),
  skipLocked: raw(' FOR UPDATE SKIP LOCKED'),
  skipLockedOf: (alias) => raw(` FOR UPDATE OF ${alias} SKIP LOCKED`),
  outboxQueueId: raw("COALESCE(facts->>'queueId', facts->'original'->>'queueId')"),
  setPartId: (part, smscId) => sql`jsonb_set(smsc_ids, ARRAY[${String(part)}::text], to_jsonb(${smscId}::text))`,
  partStat: raw('s.receipts->>i.part'),
  smscIdSeq: raw('i.id'),
  earlyId: raw('id'),
  bool: (v) => v,
  returningId: raw(' RETURNING id'),
  byRecipient: raw(''),
};

/** The database's clock in ms: leases are judged by it alone, whatever a node's own clock says. */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

const CLAIM_COLUMNS = ['owner', 'lease_until', 'claim_epoch'];

/** The row is this node's in the epoch it holds now (none held: no row is). */
export function postgresOwnership(
  node: string,
  epoch: number | undefined,
  leaseMs: number,
  onFenced: ((o: SendOutcome) => void) | undefined,
): Ownership {
  const leaseUntil = sql`${raw(DB_NOW_MS)} + ${leaseMs}::bigint`;
  return {
    owned: () => sql`owner = ${node} AND claim_epoch = ${epoch ?? null}`,
    mine: () => sql`owner = ${node}`,
    claimSet: () => sql`, owner = ${node}, lease_until = ${leaseUntil}, claim_epoch = ${epoch ?? null}`,
    claimInsert: () => ({
      columns: raw(', owner, lease_until, claim_epoch'),
      values: sql`, ${node}, ${leaseUntil}, ${epoch ?? null}`,
    }),
    release: raw(CLAIM_COLUMNS.map((c) => `, ${c} = NULL`).join('')),
    releaseWhen: (cond: Fragment) =>
      raw(CLAIM_COLUMNS.map((c) => `, ${c} = CASE WHEN ${cond.sql} THEN NULL ELSE ${c} END`).join('')),
    onFenced,
  };
}

/** `?` → `$1`, `$2`…: the programs' SQL has no other question marks (no jsonb `?` operators). */
/**
 * A statement's text with PostgreSQL's numbered placeholders. Each text is numbered once: the sql tag gives a call
 * site the same string every time, and a regular expression per statement cost a mail's CPU on every node.
 */
const numberedTexts = new Map<string, string>();
export function numbered(text: string): string {
  let out = numberedTexts.get(text);
  if (out === undefined) {
    let n = 0;
    out = text.replace(/\?/g, () => `$${++n}`);
    // A text made with a list of values (an IN list) has one form per length: bounded, but keep it so.
    if (numberedTexts.size > 10_000) numberedTexts.clear();
    numberedTexts.set(text, out);
  }
  return out;
}

/** Runs programs on a transaction's connection. */
export function postgresRunner(client: Pick<pg.ClientBase, 'query'> | pg.Pool) {
  const query = (s: Stmt) => client.query(numbered(s.sql), s.params as unknown[]);
  return <T>(program: Program<T>): Promise<T> => runAsync(program, query);
}
