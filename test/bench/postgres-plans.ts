/**
 * The PostgreSQL spool's plans at 1 M rows: fills a throwaway database (its sms tables are dropped and made
 * again) and prints EXPLAIN ANALYZE for claims, the rules' look-ups, receipts and the metrics' counts. Run:
 * `tsx test/bench/postgres-plans.ts postgres://postgres@127.0.0.1:5432/scratch` (never on a live spool).
 */
import pg from 'pg';
import { migrate } from '../../src/spool/postgres/migrations.js';
if (!process.argv[2]) throw new Error('usage: tsx test/bench/postgres-plans.ts <postgres url of a scratch database>');
const c = new pg.Client({ connectionString: process.argv[2] });
await c.connect();
await c.query(
  'DROP TABLE IF EXISTS smsc_ids, early_receipts, inbound, health_probe, sms, smtp2sms_schema_version CASCADE',
);
await migrate(c);
const t0 = Date.now();
// 1 M rows: 100,000 recipients × 10, mostly final; 2 % queued, 1 % sending, 5 % refused.
await c.query(`INSERT INTO sms (queue_id, recipient, state, reason, source_addr, source_ton, source_npi, text, comment, coding,
  data_coding, sms_count, truncated, parts, message_id, fingerprint, attempts, created_at, updated_at, next_attempt_at, smsc_ids, receipts)
SELECT 'q' || g, (79000000000 + g % 100000)::text,
  CASE WHEN g % 100 < 2 THEN 'queued' WHEN g % 100 < 3 THEN 'sending' WHEN g % 100 < 8 THEN 'refused' ELSE 'delivered' END,
  NULL, 'Alerts', 5, 0, 'text ' || g, '', 'gsm7', 0, 1, false, '[]', '<m' || g || '@x>', (79000000000 + g % 100000)::text || '|Alerts|text ' || (g % 1000),
  1, 1700000000000 + g * 1000, 1700000000000 + g * 1000, 1700000000000 + g * 1000, '["x"]', '[null]'
FROM generate_series(1, 1000000) g`);
await c.query(`INSERT INTO smsc_ids (key, sms_id, part) SELECT to_hex(id), id, 0 FROM sms WHERE state <> 'refused'`);
await c.query('VACUUM ANALYZE sms');
await c.query('VACUUM ANALYZE smsc_ids');
await c.query('VACUUM ANALYZE early_receipts');
console.log(`filled in ${Date.now() - t0} ms`);
const now = 1700000000000 + 1000001 * 1000;
const plans: Array<[string, string, unknown[]]> = [
  [
    'claim',
    `WITH due AS (SELECT id FROM sms WHERE state = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
     UPDATE sms s SET state = 'sending', attempts = s.attempts + 1, updated_at = $1, owner = $3, lease_until = $4 FROM due WHERE s.id = due.id RETURNING s.id`,
    [now, 20, 'n', now],
  ],
  ['nextDue', `SELECT MIN(next_attempt_at) AS t FROM sms WHERE state = 'queued'`, []],
  [
    'retransmission',
    `SELECT queue_id, created_at, sms_count, coding FROM sms WHERE message_id = $1 AND recipient = $2 AND state <> 'refused' ORDER BY id LIMIT 1`,
    ['<m500@x>', '79000000500'],
  ],
  [
    'flood',
    `SELECT created_at FROM sms WHERE recipient = $1 AND state <> 'refused' ORDER BY created_at DESC LIMIT $2`,
    ['79000000500', 50],
  ],
  [
    'duplicate',
    `SELECT MAX(created_at) AS t FROM sms WHERE recipient = $1 AND created_at > $2 AND fingerprint = $3 AND state <> 'refused'`,
    ['79000000500', now - 60000, '79000000500|Alerts|text 500'],
  ],
  ['receipt', `SELECT sms_id, part FROM smsc_ids WHERE key = ANY($1::text[]) ORDER BY id DESC LIMIT 1`, [['1f4']]],
  ['early receipt', `SELECT id FROM early_receipts WHERE key = ANY($1::text[])`, [['1f4', '500']]],
  ['pending count', `SELECT COUNT(*) AS n FROM sms WHERE state IN ('queued','sending')`, []],
  ['oldest queued', `SELECT MIN(created_at) AS t FROM sms WHERE state IN ('queued','sending')`, []],
  [
    'requeue own',
    `UPDATE sms SET state = 'queued' WHERE state = 'sending' AND (owner IS NULL OR owner = $2 OR lease_until < $1)`,
    [now, 'n'],
  ],
];
await c.query('BEGIN');
for (const [name, sql, params] of plans) {
  const r = await c.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) ${sql}`, params);
  console.log(`--- ${name}\n${r.rows.map((x) => x['QUERY PLAN']).join('\n')}`);
}
await c.query('ROLLBACK');
await c.end();
