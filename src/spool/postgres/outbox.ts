/**
 * The PostgreSQL side of the outbox contract (spool/outbox-contract.ts), run inside the store's transactions.
 * Reports are planned by the same pure rule as on SQLite (outbox/plan.ts); a sweep takes its candidates FOR UPDATE
 * SKIP LOCKED and outbox claims carry an owner and a lease, so two nodes never make or send the same mail at once.
 */
import type pg from 'pg';
import type { OutboxFacts, OutboxRow } from '../../outbox/facts.js';
import { planReport } from '../../outbox/plan.js';
import type { OutboxCounts, OutboxResult, ReplyOutcome, ReplySettings, ReportSweep } from '../outbox-contract.js';
import {
  CANDIDATE_COLUMNS,
  fromRawOutbox,
  MATCH_COLUMNS,
  replyFacts,
  replyPhone,
  toCandidate,
} from '../sqlite/outbox.js';
import type { InboundSms, NewSms } from '../types.js';

type Client = pg.PoolClient;

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

export async function insertDsnFacts(c: Client, row: NewSms, id: number): Promise<void> {
  if (row.mail) {
    const m = row.mail;
    await c.query(
      `INSERT INTO mail_facts (queue_id, ret, envid, subject, reply_to, auto_submitted, headers, raw_base64)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (queue_id) DO NOTHING`,
      [row.queueId, m.ret, m.envid, m.subject, m.replyTo, m.autoSubmitted, m.headers, m.rawBase64],
    );
  }
  if (row.dsn && row.state !== 'refused') {
    await c.query('INSERT INTO sms_dsn (sms_id, notify, orcpt, rcpt_address) VALUES ($1, $2, $3, $4)', [
      id,
      row.dsn.notify,
      row.dsn.orcpt,
      row.dsn.rcptAddress,
    ]);
  }
}

async function insertOutbox(c: Client, facts: OutboxFacts, now: number): Promise<number> {
  const r = await c.query<{ id: string }>(
    `INSERT INTO outbox (kind, env_to, facts, created_at, updated_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4, $4) RETURNING id`,
    [facts.kind, facts.to, JSON.stringify(facts), now],
  );
  return Number(r.rows[0]?.id);
}

export async function reportsDue(
  c: Client,
  now: number,
  sweep: ReportSweep,
  finalStatesSql: string,
): Promise<{ made: number; capped: number }> {
  const relayedBefore = sweep.receiptsRequested ? now - sweep.relayedAfterMs : now;
  const res = await c.query(
    `SELECT ${CANDIDATE_COLUMNS} FROM sms_dsn d JOIN sms s ON s.id = d.sms_id LEFT JOIN mail_facts m ON m.queue_id = s.queue_id
     WHERE s.state IN ${finalStatesSql}
        OR (s.state = 'submitted' AND s.first_submit_at <= $1)
        OR (s.state IN ('queued','sending') AND d.report_state = 'pending' AND s.created_at <= $2)
     ORDER BY d.sms_id LIMIT 500 FOR UPDATE OF d SKIP LOCKED`,
    [relayedBefore, now - sweep.delayAfterMs],
  );
  let made = 0;
  let capped = 0;
  for (const r of res.rows) {
    const cand = toCandidate(r);
    const plan = planReport(cand, sweep, now);
    if (plan.kind === 'wait') continue;
    if (plan.kind === 'report') {
      let over = false;
      if (sweep.capPerHour > 0) {
        const n = await c.query<{ n: string }>(
          `SELECT COUNT(*) AS n FROM outbox WHERE env_to = $1 AND kind = 'report' AND created_at > $2`,
          [plan.facts.to, now - 3_600_000],
        );
        over = Number(n.rows[0]?.n ?? 0) >= sweep.capPerHour;
      }
      if (over) capped++;
      else {
        await insertOutbox(c, plan.facts, now);
        made++;
      }
    }
    if (plan.next === 'done') await c.query('DELETE FROM sms_dsn WHERE sms_id = $1', [cand.id]);
    else await c.query('UPDATE sms_dsn SET report_state = $1 WHERE sms_id = $2', [plan.next, cand.id]);
  }
  return { made, capped };
}

export async function storeReply(
  c: Client,
  sms: InboundSms,
  now: number,
  settings: ReplySettings,
): Promise<ReplyOutcome> {
  const res = await c.query(
    `SELECT ${MATCH_COLUMNS} FROM sms s LEFT JOIN sms_dsn d ON d.sms_id = s.id LEFT JOIN mail_facts m ON m.queue_id = s.queue_id
     WHERE s.recipient = $1 AND s.created_at >= $2 AND s.state NOT IN ('refused','cancelled') AND s.mail_from IS NOT NULL
     ORDER BY s.created_at DESC, s.id DESC LIMIT 1`,
    [replyPhone(sms), now - settings.windowMs],
  );
  const match = res.rows[0];
  const facts = replyFacts(sms, match, now, settings);
  if (!facts) {
    await c.query(
      `INSERT INTO inbound (received_at, source_addr, destination_addr, data_coding, text) VALUES ($1, $2, $3, $4, $5)`,
      [now, sms.sourceAddr, sms.destinationAddr, sms.dataCoding, sms.text],
    );
    return { kind: 'kept' };
  }
  const outboxId = await insertOutbox(c, facts, now);
  return match
    ? { kind: 'mailed', outboxId, to: facts.to, queueId: match.queue_id }
    : { kind: 'default', outboxId, to: facts.to };
}

export async function claimOutbox(
  c: Client,
  limit: number,
  now: number,
  leaseMs: number,
  owner: string,
): Promise<OutboxRow[]> {
  const res = await c.query(
    `WITH due AS (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
       ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
     UPDATE outbox o SET owner = $3, lease_until = $4, attempts = o.attempts + 1 FROM due WHERE o.id = due.id RETURNING o.*`,
    [now, limit, owner, now + leaseMs],
  );
  return res.rows.map(fromRawOutbox).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
}

export async function outboxDone(c: Client, id: number, result: OutboxResult, now: number): Promise<void> {
  if (result.kind === 'sent') {
    await c.query(
      `UPDATE outbox SET state = 'sent', updated_at = $1, lease_until = NULL, last_error = NULL WHERE id = $2`,
      [now, id],
    );
  } else if (result.kind === 'retry') {
    await c.query(
      'UPDATE outbox SET next_attempt_at = $1, updated_at = $2, lease_until = NULL, last_error = $3 WHERE id = $4',
      [result.nextAt, now, result.error, id],
    );
  } else {
    await c.query(
      `UPDATE outbox SET state = 'dropped', updated_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3`,
      [now, result.error, id],
    );
  }
}

export async function listOutbox(c: pg.Pool | pg.ClientBase, limit: number): Promise<OutboxRow[]> {
  return (await c.query('SELECT * FROM outbox ORDER BY id DESC LIMIT $1', [limit])).rows.map(fromRawOutbox);
}

export async function outboxCounts(c: pg.Pool | pg.ClientBase): Promise<OutboxCounts> {
  const rows = (await c.query<{ state: string; n: string }>('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state'))
    .rows;
  const get = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
  return { pending: get('pending'), sent: get('sent'), dropped: get('dropped') };
}

export async function pruneOutbox(c: Client, before: number): Promise<void> {
  await c.query('DELETE FROM mail_facts m WHERE NOT EXISTS (SELECT 1 FROM sms s WHERE s.queue_id = m.queue_id)');
  await c.query(`DELETE FROM outbox WHERE state <> 'pending' AND updated_at < $1`, [before]);
}
