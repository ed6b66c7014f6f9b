/**
 * The SQLite spool: WAL with synchronous=FULL, so a committed row survives a power cut, and "250" is only said
 * after the commit. Every method is one short transaction; better-sqlite3 is synchronous, so a commit is
 * finished when the call returns.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { NewSms, SmsRow, SmsState } from './types.js';
import { SpoolError } from './types.js';

const SCHEMA_VERSION = 1;

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
  receipts TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS sms_due ON sms(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS sms_recipient ON sms(recipient, created_at);
CREATE INDEX IF NOT EXISTS sms_fingerprint ON sms(fingerprint, created_at);
CREATE INDEX IF NOT EXISTS sms_message_id ON sms(message_id, recipient);
CREATE INDEX IF NOT EXISTS sms_queue ON sms(queue_id);
CREATE TABLE IF NOT EXISTS smsc_ids (
  smsc_id TEXT PRIMARY KEY,
  sms_id INTEGER NOT NULL,
  part INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS inbound (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  source_addr TEXT NOT NULL,
  destination_addr TEXT NOT NULL,
  data_coding INTEGER NOT NULL,
  text TEXT NOT NULL
);
`;

interface RawRow {
  id: number;
  queue_id: string;
  recipient: string;
  state: SmsState;
  reason: string | null;
  source_addr: string;
  source_ton: number;
  source_npi: number;
  text: string;
  comment: string;
  coding: SmsRow['coding'];
  data_coding: number;
  sms_count: number;
  truncated: number;
  parts: string;
  message_id: string | null;
  smtp_user: string | null;
  mail_from: string | null;
  client_ip: string | null;
  fingerprint: string;
  attempts: number;
  created_at: number;
  updated_at: number;
  next_attempt_at: number;
  first_submit_at: number | null;
  smsc_ids: string;
  receipts: string;
}

export function fromRaw(r: RawRow): SmsRow {
  return {
    id: r.id,
    queueId: r.queue_id,
    recipient: r.recipient,
    state: r.state,
    reason: r.reason,
    sourceAddr: r.source_addr,
    sourceTon: r.source_ton,
    sourceNpi: r.source_npi,
    text: r.text,
    comment: r.comment,
    coding: r.coding,
    dataCoding: r.data_coding,
    smsCount: r.sms_count,
    truncated: r.truncated === 1,
    parts: JSON.parse(r.parts),
    messageId: r.message_id,
    smtpUser: r.smtp_user,
    mailFrom: r.mail_from,
    clientIp: r.client_ip,
    fingerprint: r.fingerprint,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    nextAttemptAt: r.next_attempt_at,
    firstSubmitAt: r.first_submit_at,
    smscIds: JSON.parse(r.smsc_ids),
    receipts: JSON.parse(r.receipts),
  };
}

export class SqliteSpool {
  readonly db: Database.Database;
  private readonly insertStmt: Database.Statement;
  private readonly acceptTx: (rows: NewSms[], now: number) => void;

  constructor(
    readonly path: string,
    busyTimeoutMs = 5000,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: busyTimeoutMs });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`spool ${path} has schema version ${version}; this smtp2sms knows ${SCHEMA_VERSION}: upgrade smtp2sms`);
    }
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.insertStmt = this.db.prepare(`
      INSERT INTO sms (queue_id, recipient, state, reason, source_addr, source_ton, source_npi, text, comment, coding,
        data_coding, sms_count, truncated, parts, message_id, smtp_user, mail_from, client_ip, fingerprint,
        created_at, updated_at, next_attempt_at, smsc_ids, receipts)
      VALUES (@queueId, @recipient, @state, @reason, @sourceAddr, @sourceTon, @sourceNpi, @text, @comment, @coding,
        @dataCoding, @smsCount, @truncated, @parts, @messageId, @smtpUser, @mailFrom, @clientIp, @fingerprint,
        @now, @now, @now, @smscIds, @receipts)`);
    this.acceptTx = this.db.transaction((rows: NewSms[], now: number) => {
      for (const r of rows) {
        const empty = JSON.stringify(r.parts.map(() => null));
        this.insertStmt.run({
          ...r,
          truncated: r.truncated ? 1 : 0,
          parts: JSON.stringify(r.parts),
          now,
          smscIds: empty,
          receipts: empty,
        });
      }
    });
  }

  /** Store all recipients of one mail atomically. Throws SpoolError (→ 451 4.3.0) when that cannot be done. */
  accept(rows: NewSms[], now: number): void {
    try {
      this.acceptTx(rows, now);
    } catch (e) {
      throw new SpoolError(e);
    }
  }

  /** Messages not yet handed to the SMSC (back-pressure counts these). */
  pendingCount(): number {
    const r = this.db.prepare(`SELECT COUNT(*) AS n FROM sms WHERE state IN ('queued','sending')`).get() as { n: number };
    return r.n;
  }

  byQueueId(queueId: string): SmsRow[] {
    return (this.db.prepare('SELECT * FROM sms WHERE queue_id = ? ORDER BY id').all(queueId) as RawRow[]).map(fromRaw);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
