/**
 * The PostgreSQL spool's schema, as numbered migrations applied in order on start. A plain version table rather
 * than a migration library: the daemon is the only writer of its schema, the steps are SQL only, and the two things
 * a library would add here (a lock so two nodes starting together migrate once, refusing a newer schema) are a few
 * lines each. Never edit a released migration: add the next one.
 *
 * Every row carries `owner` (the node that claimed it) and `lease_until` from the first version: several nodes on
 * one database renew and take over leases without a schema change.
 */
import type pg from 'pg';
import { OUTBOX_MIGRATION_SQL, REPLY_PARTS_MIGRATION_SQL } from './outbox-schema.js';

export interface Migration {
  version: number;
  what: string;
  sql: string;
}

/**
 * Final states, for prune (kept in step with FINAL_STATES in spool/types.ts by a test). Migrations write their
 * own list: a released migration's SQL never changes when a state is added.
 */
export const FINAL_STATES_SQL = `('delivered','undeliverable','failed','expired','refused','cancelled')`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    what: 'sms rows, SMSC ids, early receipts, inbound SMS, health probe',
    sql: `
CREATE TABLE sms (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue_id text NOT NULL,
  recipient text NOT NULL,
  state text NOT NULL,
  reason text,
  source_addr text NOT NULL,
  source_ton integer NOT NULL,
  source_npi integer NOT NULL,
  text text NOT NULL,
  comment text NOT NULL,
  coding text NOT NULL,
  data_coding integer NOT NULL,
  sms_count integer NOT NULL,
  truncated boolean NOT NULL,
  parts jsonb NOT NULL,
  message_id text,
  smtp_user text,
  mail_from text,
  client_ip text,
  fingerprint text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  first_submit_at bigint,
  smsc_ids jsonb NOT NULL,
  receipts jsonb NOT NULL,
  owner text,
  lease_until bigint
);
-- Claims: the due queued rows in order, from the index alone (a partial index stays small: only waiting rows).
CREATE INDEX sms_due ON sms (next_attempt_at, id) WHERE state = 'queued';
-- Rows caught 'sending': requeue at start, lease take-over (part 3).
CREATE INDEX sms_sending ON sms (owner, lease_until) WHERE state = 'sending';
-- The flood and duplicate rules read a recipient's accepted rows newest first; fingerprint is included so the
-- duplicate look-up is index-only.
CREATE INDEX sms_accepted ON sms (recipient, created_at) INCLUDE (fingerprint) WHERE state <> 'refused';
-- Retransmission: the first accepted row of this Message-ID to this recipient.
CREATE INDEX sms_message_id ON sms (message_id, recipient, id) WHERE message_id IS NOT NULL AND state <> 'refused';
CREATE INDEX sms_queue ON sms (queue_id);
-- Queue depth and the oldest waiting row (metrics, back-pressure, expiry).
CREATE INDEX sms_pending ON sms (created_at) WHERE state IN ('queued','sending');
-- Prune: final rows by age.
CREATE INDEX sms_final ON sms (updated_at) WHERE state IN ('delivered','undeliverable','failed','expired','refused');
CREATE INDEX sms_state ON sms (state);

CREATE TABLE smsc_ids (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL,
  sms_id bigint NOT NULL REFERENCES sms (id) ON DELETE CASCADE,
  part integer NOT NULL
);
-- A receipt finds the latest part under its key from the index alone.
CREATE INDEX smsc_ids_key ON smsc_ids (key, id DESC) INCLUDE (sms_id, part);
CREATE INDEX smsc_ids_sms ON smsc_ids (sms_id);

CREATE TABLE early_receipts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL,
  stat text NOT NULL,
  err text,
  received_at bigint NOT NULL
);
CREATE INDEX early_receipts_key ON early_receipts (key, id);
CREATE INDEX early_receipts_age ON early_receipts (received_at);

CREATE TABLE inbound (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at bigint NOT NULL,
  source_addr text NOT NULL,
  destination_addr text NOT NULL,
  data_coding integer NOT NULL,
  text text NOT NULL
);

-- /healthz commits one row per node: "takes writes" is proven by a write.
CREATE TABLE health_probe (node text PRIMARY KEY, at bigint NOT NULL);
`,
  },
  {
    version: 2,
    what: 'web page: list indexes newest first per user, state and recipient; cancelled is a final state',
    sql: `
-- The list pages on (created_at, id) newest first (spool/message-query.ts); state and sms_count ride along so the
-- daily counts are read from the index alone.
CREATE INDEX sms_created ON sms (created_at, id) INCLUDE (state, sms_count);
CREATE INDEX sms_user_created ON sms (smtp_user, created_at, id) INCLUDE (state, sms_count);
CREATE INDEX sms_state_created ON sms (state, created_at, id);
CREATE INDEX sms_recipient_created ON sms (recipient, created_at, id);
DROP INDEX sms_final;
CREATE INDEX sms_final ON sms (updated_at)
  WHERE state IN ('delivered','undeliverable','failed','expired','refused','cancelled');
`,
  },
  {
    version: 3,
    what: 'delivery reports and replies: mail facts, DSN per recipient, the outbox',
    sql: OUTBOX_MIGRATION_SQL,
  },
  {
    version: 4,
    what: "the web page's timeline: when each part's receipt came, with its err",
    sql: `
ALTER TABLE sms ADD COLUMN receipt_facts jsonb NOT NULL DEFAULT '[]'::jsonb;
-- A mail's reports and replies by the queue id in their facts (a report's own, or the SMS a reply answers).
CREATE INDEX outbox_queue ON outbox ((COALESCE(facts->>'queueId', facts->'original'->>'queueId')));
`,
  },
  {
    version: 5,
    what: 'parts of concatenated SMS replies wait in the spool (a restart between two parts loses none)',
    sql: REPLY_PARTS_MIGRATION_SQL,
  },
  {
    version: 6,
    what: "a kept receipt remembers its own submit date (a row older than it is never the receipt's)",
    sql: 'ALTER TABLE early_receipts ADD COLUMN submit_at bigint;',
  },
  {
    version: 7,
    what: 'the SMPP binds as a lease in database time with a fencing epoch; fenced row writes',
    sql: `
-- One row per SMSC account's binds: who holds them, until when by the database's clock, and the epoch (a fencing
-- token: every take-over adds one).
CREATE TABLE cluster_lease (
  name text PRIMARY KEY,
  holder text,
  epoch bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
-- The epoch under which the row was claimed: an outcome is written only by that owner in that epoch.
ALTER TABLE sms ADD COLUMN claim_epoch bigint;
-- A part id a deposed owner learnt after the row was taken from it: kept (the SMSC did send it), never matched to
-- the attempt that replaced it.
ALTER TABLE smsc_ids ADD COLUMN stale boolean NOT NULL DEFAULT false;
-- Settings every node must share (cluster-settings.ts), as the first node of the cluster recorded them.
CREATE TABLE cluster_settings (
  key text PRIMARY KEY,
  value text NOT NULL,
  node text NOT NULL
);
`,
  },
];

export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** One key for the migration lock, shared by every node (any constant works: it only has to be the same). */
const MIGRATION_LOCK = 0x736d7332; // "sms2"

export class SchemaTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`the PostgreSQL spool has schema version ${found}; this smtp2sms knows up to ${known}: upgrade smtp2sms`);
    this.name = 'SchemaTooNewError';
  }
}

/** The schema's version, or 0 when the database has none yet; reads only (for `smtp2sms queue`). */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const table = await client.query<{ t: string | null }>(`SELECT to_regclass('smtp2sms_schema_version')::text AS t`);
  if (table.rows[0]?.t === null || table.rows[0]?.t === undefined) return 0;
  const r = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM smtp2sms_schema_version');
  return r.rows[0]?.v ?? 0;
}

/**
 * Bring the schema to SCHEMA_VERSION. Nodes starting together queue on a session advisory lock, so each migration
 * runs once; each runs in its own transaction with its version row. Returns the versions applied.
 */
export async function migrate(client: pg.ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const known = Math.max(...migrations.map((m) => m.version));
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS smtp2sms_schema_version (
         version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const current = await schemaVersion(client);
    if (current > known) throw new SchemaTooNewError(current, known);
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO smtp2sms_schema_version (version) VALUES ($1)', [m.version]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
  }
}
