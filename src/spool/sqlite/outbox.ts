/**
 * The SQLite side of the outbox contract (spool/outbox-contract.ts): the tables, the DSN facts written with
 * accepted rows, and the outbox operations. Each function runs inside the store's group commit (one transaction).
 */
import type Database from 'better-sqlite3';
import type { OutboxFacts, OutboxRow } from '../../outbox/facts.js';
import { planReport, type DsnCandidate } from '../../outbox/plan.js';
import type { OutboxCounts, OutboxResult, ReplyOutcome, ReplySettings, ReportSweep } from '../outbox-contract.js';
import type { InboundSms, NewSms } from '../types.js';
import { FINAL_STATES } from '../types.js';

export const OUTBOX_SCHEMA = `
CREATE TABLE IF NOT EXISTS mail_facts (
  queue_id TEXT PRIMARY KEY,
  ret TEXT,
  envid TEXT,
  subject TEXT,
  reply_to TEXT,
  auto_submitted TEXT,
  headers TEXT NOT NULL,
  raw_base64 TEXT
);
-- One row per reportable recipient row until its last report is made ('done' rows are deleted).
CREATE TABLE IF NOT EXISTS sms_dsn (
  sms_id INTEGER PRIMARY KEY,
  notify TEXT,
  orcpt TEXT,
  rcpt_address TEXT NOT NULL,
  report_state TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  env_to TEXT NOT NULL,
  facts TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  owner TEXT,
  lease_until INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_to ON outbox(env_to, created_at);
`;

/** The DSN facts of freshly stored rows (called in accept's transaction, right after each insert). */
/**
 * Statements run for every accepted mail are compiled once per connection: better-sqlite3's prepare() compiles
 * anew on every call, which cost the acceptance path ~10% of its throughput.
 */
const compiled = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function statement(db: Database.Database, sql: string): Database.Statement {
  let cache = compiled.get(db);
  if (!cache) {
    cache = new Map();
    compiled.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  }
  return stmt;
}

export function insertDsnFacts(db: Database.Database, row: NewSms, id: number): void {
  if (row.mail) {
    const m = row.mail;
    statement(
      db,
      `INSERT OR IGNORE INTO mail_facts (queue_id, ret, envid, subject, reply_to, auto_submitted, headers, raw_base64)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(row.queueId, m.ret, m.envid, m.subject, m.replyTo, m.autoSubmitted, m.headers, m.rawBase64);
  }
  if (row.dsn && row.state !== 'refused') {
    statement(db, 'INSERT INTO sms_dsn (sms_id, notify, orcpt, rcpt_address) VALUES (?, ?, ?, ?)').run(
      id,
      row.dsn.notify,
      row.dsn.orcpt,
      row.dsn.rcptAddress,
    );
  }
}

const FINAL_SQL = FINAL_STATES.map((s) => `'${s}'`).join(',');

interface RawCandidate {
  id: number;
  queue_id: string;
  recipient: string;
  state: string;
  reason: string | null;
  text: string;
  sms_count: number;
  message_id: string | null;
  mail_from: string | null;
  created_at: number;
  updated_at: number;
  first_submit_at: number | null;
  notify: string | null;
  orcpt: string | null;
  rcpt_address: string;
  report_state: string;
  envid: string | null;
  ret: string | null;
  subject: string | null;
  auto_submitted: string | null;
  headers: string | null;
  raw_base64: string | null;
}

export const toCandidate = (r: RawCandidate): DsnCandidate => ({
  id: Number(r.id),
  queueId: r.queue_id,
  recipient: r.recipient,
  state: r.state,
  reason: r.reason,
  text: r.text,
  smsCount: Number(r.sms_count),
  messageId: r.message_id,
  mailFrom: r.mail_from,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  firstSubmitAt: r.first_submit_at === null ? null : Number(r.first_submit_at),
  notify: r.notify,
  orcpt: r.orcpt,
  rcptAddress: r.rcpt_address,
  reportState: r.report_state,
  envid: r.envid,
  ret: r.ret,
  subject: r.subject,
  autoSubmitted: r.auto_submitted,
  headers: r.headers,
  rawBase64: r.raw_base64,
});

/** The candidates' columns: shared by both backends (same table and column names). */
export const CANDIDATE_COLUMNS = `s.id, s.queue_id, s.recipient, s.state, s.reason, s.text, s.sms_count, s.message_id, s.mail_from,
  s.created_at, s.updated_at, s.first_submit_at, d.notify, d.orcpt, d.rcpt_address, d.report_state,
  m.envid, m.ret, m.subject, m.auto_submitted, m.headers, m.raw_base64`;

/**
 * The sweep: final (relayed, delayed) rows whose sms_dsn row is still pending become outbox rows. Why this keeps
 * the "written in the same transaction as the state change" promise without writing the report in the
 * receipt's transaction: the durable part of "a report is owed" is the sms_dsn row, written in accept's own
 * transaction, and the state change commits the row's final state; together they are the report, only not yet
 * rendered. A crash before the sweep leaves both (the next sweep, after a restart, makes the report); the sweep
 * inserts the outbox row and deletes (or advances) the sms_dsn row in one transaction, so a crash inside it makes
 * nothing and a committed sweep never runs again for that row: never zero, never two. On PostgreSQL two nodes
 * sweeping at once lock the sms_dsn rows FOR UPDATE SKIP LOCKED (a deleted or advanced row no longer qualifies).
 * Tested: test/e2e/reports.test.ts (SIGKILL before any sweep) and the outbox contract's two-node cases.
 */
export function reportsDue(db: Database.Database, now: number, sweep: ReportSweep): { made: number; capped: number } {
  const relayedBefore = sweep.receiptsRequested ? now - sweep.relayedAfterMs : now;
  const rows = db
    .prepare(
      `SELECT ${CANDIDATE_COLUMNS} FROM sms_dsn d JOIN sms s ON s.id = d.sms_id LEFT JOIN mail_facts m ON m.queue_id = s.queue_id
       WHERE s.state IN (${FINAL_SQL})
          OR (s.state = 'submitted' AND s.first_submit_at <= ?)
          OR (s.state IN ('queued','sending') AND d.report_state = 'pending' AND s.created_at <= ?)
       ORDER BY d.sms_id LIMIT 500`,
    )
    .all(relayedBefore, now - sweep.delayAfterMs) as RawCandidate[];
  let made = 0;
  let capped = 0;
  for (const r of rows) {
    const plan = planReport(toCandidate(r), sweep, now);
    if (plan.kind === 'wait') continue;
    if (plan.kind === 'report') {
      const over =
        sweep.capPerHour > 0 &&
        (
          db
            .prepare(`SELECT COUNT(*) AS n FROM outbox WHERE env_to = ? AND kind = 'report' AND created_at > ?`)
            .get(plan.facts.to, now - 3_600_000) as {
            n: number;
          }
        ).n >= sweep.capPerHour;
      if (over) capped++;
      else {
        insertOutbox(db, plan.facts, now);
        made++;
      }
    }
    if (plan.next === 'done') db.prepare('DELETE FROM sms_dsn WHERE sms_id = ?').run(r.id);
    else db.prepare('UPDATE sms_dsn SET report_state = ? WHERE sms_id = ?').run(plan.next, r.id);
  }
  return { made, capped };
}

function insertOutbox(db: Database.Database, facts: OutboxFacts, now: number): number {
  return Number(
    db
      .prepare(
        `INSERT INTO outbox (kind, env_to, facts, created_at, updated_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(facts.kind, facts.to, JSON.stringify(facts), now, now, now).lastInsertRowid,
  );
}

interface RawMatch {
  queue_id: string;
  recipient: string;
  text: string;
  message_id: string | null;
  mail_from: string | null;
  created_at: number;
  rcpt_address: string | null;
  subject: string | null;
  reply_to: string | null;
}

export const MATCH_COLUMNS = `s.queue_id, s.recipient, s.text, s.message_id, s.mail_from, s.created_at, d.rcpt_address, m.subject, m.reply_to`;

/** The reply's outbox facts once its match (or none) is read: the same for every backend. */
export function replyFacts(sms: InboundSms, match: RawMatch | undefined, now: number, settings: ReplySettings) {
  const phone = sms.sourceAddr.replace(/^\+/, '');
  const to = match ? match.reply_to || match.mail_from : settings.defaultTo;
  if (!to) return undefined;
  const domain = match?.rcpt_address?.split('@')[1] ?? settings.domain;
  return {
    kind: 'reply' as const,
    to,
    from: `${phone}@${domain}`,
    phone,
    text: sms.text,
    receivedAt: now,
    original: match
      ? {
          queueId: match.queue_id,
          messageId: match.message_id,
          subject: match.subject,
          text: match.text,
          sentAt: Number(match.created_at),
        }
      : null,
  };
}

/** Phone numbers as the spool stores them: digits only (a reply's source_addr may carry '+'). */
export const replyPhone = (sms: InboundSms) => sms.sourceAddr.replace(/\D/g, '');

export function storeReply(db: Database.Database, sms: InboundSms, now: number, settings: ReplySettings): ReplyOutcome {
  const match = db
    .prepare(
      `SELECT ${MATCH_COLUMNS} FROM sms s LEFT JOIN sms_dsn d ON d.sms_id = s.id LEFT JOIN mail_facts m ON m.queue_id = s.queue_id
       WHERE s.recipient = ? AND s.created_at >= ? AND s.state NOT IN ('refused','cancelled') AND s.mail_from IS NOT NULL
       ORDER BY s.created_at DESC, s.id DESC LIMIT 1`,
    )
    .get(replyPhone(sms), now - settings.windowMs) as RawMatch | undefined;
  const facts = replyFacts(sms, match, now, settings);
  if (!facts) {
    db.prepare(
      'INSERT INTO inbound (received_at, source_addr, destination_addr, data_coding, text) VALUES (?, ?, ?, ?, ?)',
    ).run(now, sms.sourceAddr, sms.destinationAddr, sms.dataCoding, sms.text);
    return { kind: 'kept' };
  }
  const outboxId = insertOutbox(db, facts, now);
  return match
    ? { kind: 'mailed', outboxId, to: facts.to, queueId: match.queue_id }
    : { kind: 'default', outboxId, to: facts.to };
}

export interface RawOutbox {
  id: number;
  facts: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  state: OutboxRow['state'];
  last_error: string | null;
}

export const fromRawOutbox = (r: RawOutbox): OutboxRow => ({
  id: Number(r.id),
  facts: (typeof r.facts === 'string' ? JSON.parse(r.facts) : r.facts) as OutboxFacts,
  createdAt: Number(r.created_at),
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  state: r.state,
  lastError: r.last_error,
});

/** The leases a node held in its earlier life: nothing of its own is in flight while it starts. */
export const RELEASE_OUTBOX_SQL = `UPDATE outbox SET lease_until = NULL WHERE state = 'pending' AND owner = ?`;

export function claimOutbox(
  db: Database.Database,
  limit: number,
  now: number,
  leaseMs: number,
  owner: string,
): OutboxRow[] {
  const rows = db
    .prepare(
      `SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
       ORDER BY next_attempt_at, id LIMIT ?`,
    )
    .all(now, now, limit) as RawOutbox[];
  const take = db.prepare('UPDATE outbox SET owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?');
  for (const r of rows) take.run(owner, now + leaseMs, r.id);
  return rows.map((r) => fromRawOutbox({ ...r, attempts: r.attempts + 1 }));
}

export function outboxDone(db: Database.Database, id: number, result: OutboxResult, now: number): void {
  switch (result.kind) {
    case 'sent':
      db.prepare(
        `UPDATE outbox SET state = 'sent', updated_at = ?, lease_until = NULL, last_error = NULL WHERE id = ?`,
      ).run(now, id);
      return;
    case 'retry':
      db.prepare(
        'UPDATE outbox SET next_attempt_at = ?, updated_at = ?, lease_until = NULL, last_error = ? WHERE id = ?',
      ).run(result.nextAt, now, result.error, id);
      return;
    case 'dropped':
      db.prepare(
        `UPDATE outbox SET state = 'dropped', updated_at = ?, lease_until = NULL, last_error = ? WHERE id = ?`,
      ).run(now, result.error, id);
  }
}

export function listOutbox(db: Database.Database, limit: number): OutboxRow[] {
  return (db.prepare('SELECT * FROM outbox ORDER BY id DESC LIMIT ?').all(limit) as RawOutbox[]).map(fromRawOutbox);
}

export function outboxCounts(db: Database.Database): OutboxCounts {
  const rows = db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all() as {
    state: string;
    n: number;
  }[];
  const get = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
  return { pending: get('pending'), sent: get('sent'), dropped: get('dropped') };
}

/** With prune: facts of rows gone, and outbox rows settled before `before`. */
export function pruneOutbox(db: Database.Database, before: number): void {
  db.prepare('DELETE FROM sms_dsn WHERE sms_id NOT IN (SELECT id FROM sms)').run();
  db.prepare('DELETE FROM mail_facts WHERE queue_id NOT IN (SELECT queue_id FROM sms)').run();
  db.prepare(`DELETE FROM outbox WHERE state IN ('sent','dropped') AND updated_at < ?`).run(before);
}
