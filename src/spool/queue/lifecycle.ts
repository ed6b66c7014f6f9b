/**
 * A row's life in the queue apart from its send outcomes (outcomes.ts) and receipts (receipts.ts), for every
 * engine: claimed in due order, taken back after a crash, expired, cancelled, pruned; and the reads the relay,
 * the metrics and the web page make.
 */
import {
  FINAL_STATES,
  type CancelOutcome,
  type InboundSms,
  type RowScope,
  type SmsRow,
  type SmsState,
} from '../types.js';
import { rowFromColumns, type SmsColumns } from '../columns.js';
import { cancelQuery, type Dialect, stateQuery } from '../message-query.js';
import type { QueueContext } from './engine.js';
import { Fragment, numOrNull, type Program, raw, sql, rowsOf, firstRow, changes } from './program.js';

const FINAL = raw(FINAL_STATES.map((s) => `'${s}'`).join(', '));

/** Up to `limit` due queued rows, oldest due first, made 'sending' and this node's, the attempt counted. */
export function* claim(ctx: QueueContext, limit: number, now: number): Program<SmsRow[]> {
  // One statement: the due rows are picked (locked, or SQLite's one writer), claimed and handed out as written.
  const claimed = rowsOf<SmsColumns>(
    yield sql`UPDATE sms SET state = 'sending', attempts = attempts + 1, updated_at = ${now}${ctx.own.claimSet()}
        WHERE id IN (SELECT id FROM sms WHERE state = 'queued' AND next_attempt_at <= ${now}
          ORDER BY next_attempt_at, id LIMIT ${limit}${ctx.sql.skipLocked})
        RETURNING *`,
  ).map(rowFromColumns);
  // RETURNING keeps no order: the relay sends in the queue's.
  return claimed.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
}

/** Rows this node left 'sending' (a crash) go back to the queue, due now: they may reach the phone twice. */
export function* requeueSending(ctx: QueueContext, now: number): Program<number> {
  return changes(
    yield sql`UPDATE sms SET state = 'queued', next_attempt_at = ${now}, updated_at = ${now}${ctx.own.release}
        WHERE state = 'sending' AND ${ctx.own.mine()}`,
  );
}

/** Queued rows accepted before `before` will not be sent any more: expired, with the reason. */
export function* expireQueued(before: number, now: number, reason: string): Program<number> {
  return changes(
    yield sql`UPDATE sms SET state = 'expired', reason = ${reason}, updated_at = ${now}
        WHERE state = 'queued' AND created_at < ${before}`,
  );
}

/** Final rows last changed before `before` go, with their SMSC ids, and kept receipts older than it. */
export function* pruneRows(ctx: QueueContext, before: number): Program<number> {
  changes(
    yield sql`DELETE FROM smsc_ids WHERE sms_id IN (SELECT id FROM sms WHERE state IN (${FINAL}) AND updated_at < ${before})`,
  );
  ctx.early.added(-changes(yield sql`DELETE FROM early_receipts WHERE received_at < ${before}`));
  return changes(yield sql`DELETE FROM sms WHERE state IN (${FINAL}) AND updated_at < ${before}`);
}

export function* storeInbound(msg: InboundSms, now: number): Program<void> {
  changes(
    yield sql`INSERT INTO inbound (received_at, source_addr, destination_addr, data_coding, text)
        VALUES (${now}, ${msg.sourceAddr}, ${msg.destinationAddr}, ${msg.dataCoding}, ${msg.text})`,
  );
}

/**
 * A row of the scope still 'queued' becomes 'cancelled' (final, never sent): one conditional update, so a claim
 * at the same moment either took it first (too late, 'sending') or never sees it.
 */
export function* cancelQueued(
  d: Dialect,
  id: number,
  scope: RowScope,
  reason: string,
  now: number,
): Program<CancelOutcome> {
  const q = cancelQuery(id, scope, reason, now, d);
  if (changes(yield new Fragment(q.sql, q.params)) === 1) return { kind: 'cancelled' };
  const s = stateQuery(id, scope, d);
  const row = firstRow<{ state: SmsState }>(yield new Fragment(s.sql, s.params));
  return row ? { kind: 'too-late', state: row.state } : { kind: 'not-found' };
}

// ---- Reads ----

/** Latest acceptance per recipient since `since` (seeds the listener's flood fast path at start). */
export function* acceptedSince(since: number): Program<Array<[string, number]>> {
  const rows = rowsOf<{ recipient: string; t: unknown }>(
    yield sql`SELECT recipient, MAX(created_at) AS t FROM sms WHERE created_at >= ${since} AND state <> 'refused'
        GROUP BY recipient`,
  );
  return rows.map((r) => [r.recipient, Number(r.t)]);
}

/** Earliest next_attempt_at among queued rows (the relay sleeps until then). */
export function* nextDue(): Program<number | undefined> {
  const r = firstRow<{ t: unknown }>(yield sql`SELECT MIN(next_attempt_at) AS t FROM sms WHERE state = 'queued'`);
  return numOrNull(r?.t) ?? undefined;
}

/** Messages not yet handed to the SMSC (back-pressure counts these). */
export function* pendingCount(): Program<number> {
  const r = firstRow<{ n: unknown }>(yield sql`SELECT COUNT(*) AS n FROM sms WHERE state IN ('queued', 'sending')`);
  return Number(r?.n ?? 0);
}

export function* countsByState(): Program<Record<string, number>> {
  const rows = rowsOf<{ state: string; n: unknown }>(yield sql`SELECT state, COUNT(*) AS n FROM sms GROUP BY state`);
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

export function* oldestQueuedAt(): Program<number | undefined> {
  const r = firstRow<{ t: unknown }>(
    yield sql`SELECT MIN(created_at) AS t FROM sms WHERE state IN ('queued', 'sending')`,
  );
  return numOrNull(r?.t) ?? undefined;
}

export function* byQueueId(queueId: string): Program<SmsRow[]> {
  return rowsOf<SmsColumns>(yield sql`SELECT * FROM sms WHERE queue_id = ${queueId} ORDER BY id`).map(rowFromColumns);
}

export function* byId(id: number): Program<SmsRow | undefined> {
  const r = firstRow<SmsColumns>(yield sql`SELECT * FROM sms WHERE id = ${id}`);
  return r ? rowFromColumns(r) : undefined;
}
