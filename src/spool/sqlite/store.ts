/**
 * The SQLite spool store: WAL with synchronous=FULL, so a committed row survives a power cut, and "250" is only
 * said after the commit. better-sqlite3 is synchronous: each operation runs as one write of a group commit (see
 * batch), whose promise settles after the COMMIT that carried it; reads answer at once.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { rowFromColumns, type SmsColumns } from '../columns.js';
import type { PolicyRules } from '../../policy/rules.js';
import { dailyQuery, listQuery, SQLITE_DIALECT } from '../message-query.js';
import type { SendOutcome, SpoolStore } from '../store.js';
import type { AcceptOutcome, DailyCount, NewSms, ReceiptUpdate, SmsRow } from '../types.js';
import { SpoolError } from '../types.js';
import { OUTBOX_SCHEMA, REPLY_PARTS_SCHEMA } from './outbox-schema.js';
import * as rp from '../queue/reply-parts.js';
import type { OutboxStore } from '../outbox-contract.js';
import type { QueueContext } from '../queue/engine.js';
import { acceptRows, recentAccepted } from '../queue/accept.js';
import * as q from '../queue/lifecycle.js';
import { recordOutcomes } from '../queue/outcomes.js';
import { agedEarly, applyReceipt, resolveAged } from '../queue/receipts.js';
import * as ob from '../queue/outbox.js';
import { OUTBOX_QUEUE_ID_SQLITE, SQLITE_OWNERSHIP, SQLITE_SQL, sqliteRunner } from './engine.js';

// 2: sms.receipt_facts (when each part's receipt came, and its err).
const SCHEMA_VERSION = 2;
/** Longest a lazy write waits for a commit to ride on, and how many may wait. */
const LAZY_COMMIT_MS = 5;
const LAZY_MAX_WRITES = 512;
/**
 * /healthz: a write that failed this recently makes the spool unhealthy (a mail got 451 then), even when the health
 * check's own small write goes through: a full disk may still take a row in a page it has, not a mail's rows.
 */
const HEALTH_WINDOW_MS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  source_addr TEXT NOT NULL,
  source_ton INTEGER NOT NULL,
  source_npi INTEGER NOT NULL,
  text TEXT NOT NULL,
  comment TEXT NOT NULL,
  coding TEXT NOT NULL,
  data_coding INTEGER NOT NULL,
  sms_count INTEGER NOT NULL,
  truncated INTEGER NOT NULL,
  parts TEXT NOT NULL,
  message_id TEXT,
  smtp_user TEXT,
  mail_from TEXT,
  client_ip TEXT,
  fingerprint TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  first_submit_at INTEGER,
  smsc_ids TEXT NOT NULL DEFAULT '[]',
  receipts TEXT NOT NULL DEFAULT '[]',
  receipt_facts TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS sms_due ON sms(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS sms_recipient ON sms(recipient, created_at);
-- The duplicate rule looks rows up through sms_recipient (a fingerprint includes the recipient): a fingerprint
-- index cost a random page write per mail.
DROP INDEX IF EXISTS sms_fingerprint;
CREATE INDEX IF NOT EXISTS sms_message_id ON sms(message_id, recipient);
CREATE INDEX IF NOT EXISTS sms_queue ON sms(queue_id);
-- The web page's list and daily counts (see spool/message-query.ts): newest first per user, per state, or all;
-- state and sms_count ride along so the counts are read from the index alone.
CREATE INDEX IF NOT EXISTS sms_user_created ON sms(smtp_user, created_at, state, sms_count);
CREATE INDEX IF NOT EXISTS sms_created ON sms(created_at, state, sms_count);
CREATE INDEX IF NOT EXISTS sms_state_created ON sms(state, created_at);
CREATE TABLE IF NOT EXISTS smsc_ids (
  key TEXT NOT NULL,
  exact INTEGER NOT NULL DEFAULT 1,
  sms_id INTEGER NOT NULL,
  part INTEGER NOT NULL,
  stale INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS smsc_ids_key ON smsc_ids(key);
CREATE INDEX IF NOT EXISTS smsc_ids_sms ON smsc_ids(sms_id);
CREATE TABLE IF NOT EXISTS early_receipts (
  key TEXT NOT NULL,
  stat TEXT NOT NULL,
  err TEXT,
  received_at INTEGER NOT NULL,
  submit_at INTEGER
);
CREATE INDEX IF NOT EXISTS early_receipts_key ON early_receipts(key);
CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbound (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  source_addr TEXT NOT NULL,
  destination_addr TEXT NOT NULL,
  data_coding INTEGER NOT NULL,
  text TEXT NOT NULL
);
`;

/** An sms row as SQLite hands it back: numbers as numbers, booleans as 0/1, JSON as text. */
export interface RawRow extends SmsColumns {
  id: number;
  truncated: number;
  parts: string;
  created_at: number;
  updated_at: number;
  next_attempt_at: number;
  first_submit_at: number | null;
  smsc_ids: string;
  receipts: string;
  receipt_facts: string;
}

export const fromRaw = (r: RawRow): SmsRow => rowFromColumns(r);

interface QueuedWrite {
  fn: () => unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export class SqliteSpool implements SpoolStore {
  readonly db: Database.Database;
  /** A group commit's writes in one transaction; and again each in a savepoint after a failure (see flush). */
  private readonly runAll: (writes: QueuedWrite[]) => Array<{ ok: true; value: unknown }>;
  private readonly runEach: (
    writes: QueuedWrite[],
  ) => Array<{ ok: true; value: unknown } | { ok: false; err: unknown }>;
  private queued: QueuedWrite[] = [];
  private flushScheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private readonly statements = new Map<string, Database.Statement>();
  /** Receipts waiting for their id (so the common case skips looking for them). */
  private earlyReceipts = 0;
  /** The files behind the open connection (the database and its WAL) as opened: see checkFiles. */
  private readonly files: Array<{ path: string; dev: number; ino: number }> = [];
  /** Why the spool can take no more writes until a restart (its file was deleted or replaced), once noticed. */
  private lost: string | undefined;
  /** Told once when the spool is found lost (the work thread logs it). */
  onLost: ((reason: string) => void) | undefined;
  private lastFailure: { at: number; message: string } = { at: -Infinity, message: '' };
  /** Runs the shared queue programs (spool/queue/) on this connection. */
  private readonly run = sqliteRunner((text) => this.sql(text));
  private readonly ctx: QueueContext = {
    sql: SQLITE_SQL,
    own: SQLITE_OWNERSHIP,
    early: { mayExist: () => this.earlyReceipts > 0, added: (n) => (this.earlyReceipts += n) },
  };

  /** Prepared once, reused: compiling SQL on every call cost more than running it. */
  private sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  constructor(
    readonly path: string,
    busyTimeoutMs = 5000,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: busyTimeoutMs });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    // The web page's text search folds case beyond ASCII (SQLite's lower() does not).
    this.db.function('smtp2sms_fold', { deterministic: true }, (v: unknown) => String(v ?? '').toLowerCase());
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `spool ${path} has schema version ${version}; this smtp2sms knows ${SCHEMA_VERSION}: upgrade smtp2sms`,
      );
    }
    this.db.exec(SCHEMA);
    // A version 1 file: CREATE TABLE IF NOT EXISTS left its sms table without the column.
    const columns = this.db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('sms') as string[];
    if (!columns.includes('receipt_facts')) {
      this.db.exec(`ALTER TABLE sms ADD COLUMN receipt_facts TEXT NOT NULL DEFAULT '[]'`);
    }
    // Files from before a kept receipt remembered its own submit date (chooseReceiptTarget judges rows by it).
    const early = this.db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('early_receipts') as string[];
    if (!early.includes('submit_at')) this.db.exec('ALTER TABLE early_receipts ADD COLUMN submit_at INTEGER');
    // Files from before the queue's programs were shared with PostgreSQL: an id learnt by a write that no longer
    // owned its row is kept stale there (on SQLite only a row deleted meanwhile does that).
    const ids = this.db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('smsc_ids') as string[];
    if (!ids.includes('stale')) this.db.exec('ALTER TABLE smsc_ids ADD COLUMN stale INTEGER NOT NULL DEFAULT 0');
    this.db.exec(OUTBOX_SCHEMA);
    this.db.exec(REPLY_PARTS_SCHEMA);
    // The web page's timeline finds a mail's reports and replies by the queue id in their facts.
    this.db.exec(`CREATE INDEX IF NOT EXISTS outbox_queue ON outbox(${OUTBOX_QUEUE_ID_SQLITE})`);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.earlyReceipts = (this.db.prepare('SELECT COUNT(*) AS n FROM early_receipts').get() as { n: number }).n;
    // Made once: better-sqlite3 builds a wrapper per transaction() call, which showed in a flush's profile.
    this.runAll = this.db.transaction((writes: QueuedWrite[]) =>
      writes.map((w) => ({ ok: true as const, value: w.fn() })),
    );
    this.runEach = this.db.transaction((writes: QueuedWrite[]) => writes.map((w) => this.inSavepoint(w.fn)));
    if (path !== ':memory:') {
      // The WAL exists from the first commit (user_version above) until the connection closes.
      for (const file of [path, `${path}-wal`]) {
        const st = statSync(file, { throwIfNoEntry: false });
        if (st) this.files.push({ path: file, dev: st.dev, ino: st.ino });
      }
    }
  }

  /**
   * Are the files we write still the ones at the spool's path? A deleted (or replaced) file keeps taking commits
   * through the open handle, and they vanish with it: the next start finds an empty queue. Two stat calls, made
   * after each group commit and before anyone is told it committed (a flush is one or more mails' commit, so this
   * is no stat per mail under load, and a few µs against the commit's fsync). Once lost, always lost: only a
   * restart opens the file at the path again.
   */
  private checkFiles(): string | undefined {
    if (this.lost) return this.lost;
    for (const f of this.files) {
      const st = statSync(f.path, { throwIfNoEntry: false });
      if (st && st.dev === f.dev && st.ino === f.ino) continue;
      this.lost = `the spool file ${f.path} ${st ? 'was replaced' : 'was deleted'} while open; restart smtp2sms`;
      this.onLost?.(this.lost);
      return this.lost;
    }
    return undefined;
  }

  /**
   * Group commit: writes queued in the same tick share one transaction (one fsync); one failing write fails
   * alone (after a failure the group is run again, each write in a savepoint: see flush). The promise settles
   * after the COMMIT: a caller that says "250" after awaiting it has said it about data on disk.
   *
   * A `lazy` write (the relay's bookkeeping: submitted, receipts, outcomes) does not start a commit of its own:
   * it rides on the next one, at most LAZY_COMMIT_MS later. Under load that is the next accept's commit, so a
   * mail costs one commit instead of four; a crash before it loses nothing accepted, only the record that a row
   * went out (it is sent again: at-least-once, as for rows caught 'sending').
   */
  batch<T>(fn: () => T, lazy = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!lazy || this.queued.length >= LAZY_MAX_WRITES) this.flushSoon();
      else this.lazyTimer ??= setTimeout(() => this.flush(), LAZY_COMMIT_MS);
    });
  }

  private flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** One write of a group commit: its failure undoes its own changes only. */
  private inSavepoint(fn: () => unknown): { ok: true; value: unknown } | { ok: false; err: unknown } {
    this.sql('SAVEPOINT write').run();
    try {
      const value = fn();
      this.sql('RELEASE write').run();
      return { ok: true, value };
    } catch (err) {
      // A failure SQLite answers by rolling the whole transaction back leaves no savepoint to return to.
      if (this.db.inTransaction) {
        this.sql('ROLLBACK TO write').run();
        this.sql('RELEASE write').run();
      }
      return { ok: false, err };
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    const writes = this.queued;
    if (writes.length === 0) return;
    this.queued = [];
    if (this.lost) {
      this.noteFailure(this.lost);
      for (const w of writes) w.reject(new SpoolError(new Error(this.lost)));
      return;
    }
    let results: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }>;
    try {
      // Optimistic: all writes in one transaction, no savepoints (two statements a write, a fifth of a flush).
      results = this.runAll(writes);
    } catch {
      // One of them failed and took the transaction with it: run them again, each in a savepoint, so only the
      // failing one fails. The writes touch nothing but the database and the early-receipt count, reread here.
      try {
        this.earlyReceipts = (this.sql('SELECT COUNT(*) AS n FROM early_receipts').get() as { n: number }).n;
        results = this.runEach(writes);
      } catch (err) {
        this.noteFailure((err as Error).message);
        for (const w of writes) w.reject(new SpoolError(err));
        return;
      }
    }
    // Committed into a file no longer at its path: as good as not stored (the client gets 451 and sends again).
    const lost = this.checkFiles();
    if (lost) {
      this.noteFailure(lost);
      for (const w of writes) w.reject(new SpoolError(new Error(lost)));
      return;
    }
    const failed = results.find((r) => !r.ok);
    if (failed) this.noteFailure(String((failed.err as Error)?.message ?? failed.err));
    writes.forEach((w, i) => {
      const r = results[i] as (typeof results)[number];
      if (r.ok) w.resolve(r.value);
      else w.reject(new SpoolError(r.err));
    });
  }

  // ---- SpoolStore: each operation one write of a group commit (reads answer at once) ----

  accept(rows: readonly NewSms[], now: number, rules?: PolicyRules): Promise<AcceptOutcome[]> {
    return this.batch(() => this.run(acceptRows(this.ctx, rows, now, rules)));
  }

  // Reads answer at once, outside a group commit.
  recentAccepted: SpoolStore['recentAccepted'] = (recipient, limit) =>
    Promise.resolve(this.run(recentAccepted(recipient, limit)));
  acceptedSince: SpoolStore['acceptedSince'] = (since) => Promise.resolve(this.run(q.acceptedSince(since)));
  nextDue: SpoolStore['nextDue'] = () => Promise.resolve(this.run(q.nextDue()));
  pendingCount: SpoolStore['pendingCount'] = () => Promise.resolve(this.run(q.pendingCount()));
  countsByState: SpoolStore['countsByState'] = () => Promise.resolve(this.run(q.countsByState()));
  oldestQueuedAt: SpoolStore['oldestQueuedAt'] = () => Promise.resolve(this.run(q.oldestQueuedAt()));
  byQueueId: SpoolStore['byQueueId'] = (queueId) => Promise.resolve(this.run(q.byQueueId(queueId)));
  byId: SpoolStore['byId'] = (id) => Promise.resolve(this.run(q.byId(id)));

  claim: SpoolStore['claim'] = (limit, now) => this.batch(() => this.run(q.claim(this.ctx, limit, now)));

  /**
   * The relay's bookkeeping is a lazy write: it rides on the next commit (an accept's, under load) instead of
   * starting its own, so a mail costs one commit instead of four (see batch).
   */
  record(outcomes: readonly SendOutcome[]): Promise<void> {
    return this.batch(() => this.run(recordOutcomes(this.ctx, outcomes)), true);
  }

  applyReceipt: SpoolStore['applyReceipt'] = (receiptId, stat, err, now, submitAt) =>
    this.batch(() => this.run(applyReceipt(this.ctx, receiptId, stat, err, now, submitAt)), true);

  resolveEarlyReceipts(settledBefore: number, now: number): Promise<ReceiptUpdate[]> {
    if (this.earlyReceipts === 0) return Promise.resolve([]);
    return this.batch(() =>
      this.run(agedEarly(this.ctx, settledBefore)).flatMap((aged) =>
        this.run(resolveAged(this.ctx, aged, settledBefore, now)),
      ),
    );
  }

  storeInbound: SpoolStore['storeInbound'] = (msg, now) => this.batch(() => this.run(q.storeInbound(msg, now)));

  /** After a crash, rows caught mid-send go back to the queue (at-least-once: some may be sent twice). */
  requeueSending: SpoolStore['requeueSending'] = (now) => this.batch(() => this.run(q.requeueSending(this.ctx, now)));

  expireQueued: SpoolStore['expireQueued'] = (before, now, reason) =>
    this.batch(() => this.run(q.expireQueued(before, now, reason)));

  prune: SpoolStore['prune'] = (before) =>
    this.batch(() => {
      const n = this.run(q.pruneRows(this.ctx, before));
      this.run(ob.pruneOutbox(before));
      return n;
    });

  listMessages: SpoolStore['listMessages'] = (filter) => {
    const built = listQuery(filter, SQLITE_DIALECT);
    return Promise.resolve((this.db.prepare(built.sql).all(...built.params) as RawRow[]).map(fromRaw));
  };

  dailyCounts: SpoolStore['dailyCounts'] = (scope, since) => {
    const built = dailyQuery(scope, since, SQLITE_DIALECT);
    return Promise.resolve(this.db.prepare(built.sql).all(...built.params) as DailyCount[]);
  };

  cancelQueued: SpoolStore['cancelQueued'] = (id, scope, reason, now) =>
    this.batch(() => this.run(q.cancelQueued(SQLITE_DIALECT, id, scope, reason, now)));

  // ---- The outbox: see spool/queue/outbox.ts ----

  reportsDue: OutboxStore['reportsDue'] = (now, sweep) =>
    this.batch(() => this.run(ob.reportsDue(this.ctx, now, sweep)));
  storeReply: OutboxStore['storeReply'] = (sms, now, settings) =>
    this.batch(() => this.run(ob.storeReply(this.ctx, sms, now, settings)));
  storeReplyPart: OutboxStore['storeReplyPart'] = (part, now, how) =>
    this.batch(() => this.run(rp.storeReplyPart(this.ctx, part, now, how)));
  expireReplyParts: OutboxStore['expireReplyParts'] = (now, timeoutMs, how) =>
    this.batch(() => this.run(rp.expireReplyParts(this.ctx, now, timeoutMs, how)));
  claimOutbox: OutboxStore['claimOutbox'] = (limit, now, leaseMs, owner) =>
    this.batch(() => this.run(ob.claimOutbox(this.ctx, limit, now, leaseMs, owner)));
  releaseOutbox: OutboxStore['releaseOutbox'] = (owner) => this.batch(() => this.run(ob.releaseOutbox(owner)));
  outboxDone: OutboxStore['outboxDone'] = (id, result, now) =>
    this.batch(() => this.run(ob.outboxDone(id, result, now)));
  listOutbox: OutboxStore['listOutbox'] = (limit) => Promise.resolve(this.run(ob.listOutbox(limit)));
  outboxFor: SpoolStore['outboxFor'] = (queueId) => Promise.resolve(this.run(ob.outboxFor(this.ctx, queueId)));
  outboxCounts: OutboxStore['outboxCounts'] = () => Promise.resolve(this.run(ob.outboxCounts()));

  private noteFailure(message: string): void {
    this.lastFailure = { at: Date.now(), message };
  }

  /**
   * Does the spool take writes now? For /healthz: not when its file is gone, nor when a write failed within
   * HEALTH_WINDOW_MS (a mail got 451 then), nor when a real write (one row, committed with the next group commit:
   * an fsync per check at most) fails now: a full disk or a read-only file shows here before a mail is refused.
   */
  async writable(now = Date.now()): Promise<{ writable: boolean; problem?: string }> {
    if (this.checkFiles()) return { writable: false, problem: this.lost };
    if (now - this.lastFailure.at < HEALTH_WINDOW_MS) {
      const agoS = Math.round((now - this.lastFailure.at) / 1000);
      return {
        writable: false,
        problem: `a spool write failed ${agoS} s ago: ${this.lastFailure.message}`,
      };
    }
    try {
      await this.batch(() => this.sql('INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)').run(now));
    } catch (err) {
      return { writable: false, problem: (err as Error).message };
    }
    return { writable: true };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
