/** The outbox's and reply reassembly's tables on SQLite (the queries are spool/queue/outbox.ts and reply-parts.ts). */

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
