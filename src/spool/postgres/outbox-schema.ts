/** The outbox's and reply reassembly's tables on PostgreSQL (migrations 2 and 3, see migrations.ts). */

export const OUTBOX_MIGRATION_SQL = `
CREATE TABLE mail_facts (
  queue_id text PRIMARY KEY,
  ret text,
  envid text,
  subject text,
  reply_to text,
  auto_submitted text,
  headers text NOT NULL,
  raw_base64 text
);
CREATE TABLE sms_dsn (
  sms_id bigint PRIMARY KEY REFERENCES sms (id) ON DELETE CASCADE,
  notify text,
  orcpt text,
  rcpt_address text NOT NULL,
  report_state text NOT NULL DEFAULT 'pending'
);
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  env_to text NOT NULL,
  facts jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  owner text,
  lease_until bigint
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_to ON outbox (env_to, created_at);
CREATE INDEX outbox_settled ON outbox (updated_at) WHERE state <> 'pending';
`;

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
