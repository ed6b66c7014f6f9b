/**
 * The outbox (spool/outbox-contract.ts) for every engine: delivery reports made from final rows, replies matched
 * to the mail they answer, and the claims the outbox sender takes with an owner and a lease, so two nodes never
 * make or send the same mail at once.
 *
 * Why a report is not written in the receipt's transaction: the durable part of "a report is owed" is the sms_dsn
 * row, written in accept's own transaction, and the state change commits the row's final state; together they are
 * the report, only not yet rendered. A crash before the sweep leaves both (the next sweep, after a restart, makes
 * the report); the sweep inserts the outbox row and deletes (or advances) the sms_dsn row in one transaction, so a
 * crash inside it makes nothing and a committed sweep never runs again for that row: never zero, never two. Two
 * nodes sweeping at once skip each other's locked sms_dsn rows (a deleted or advanced row no longer qualifies).
 * Tested: test/e2e/reports.test.ts (SIGKILL before any sweep) and the outbox contract's two-node cases.
 */
import type { OutboxFacts, OutboxRow } from '../../outbox/facts.js';
import { planReport } from '../../outbox/plan.js';
import type { OutboxCounts, OutboxResult, ReplyOutcome, ReplySettings, ReportSweep } from '../outbox-contract.js';
import type { DsnCandidate } from '../../outbox/plan.js';
import { FINAL_STATES, type InboundSms } from '../types.js';
import type { QueueContext } from './engine.js';
import { storeInbound } from './lifecycle.js';
import { json, list, numOrNull, type Program, raw, sql, rowsOf, firstRow, changes } from './program.js';

const FINAL = raw(FINAL_STATES.map((s) => `'${s}'`).join(', '));
const HOUR_MS = 3_600_000;

const CANDIDATE_COLUMNS = raw(`s.id, s.queue_id, s.recipient, s.state, s.reason, s.text, s.sms_count, s.message_id,
  s.mail_from, s.created_at, s.updated_at, s.first_submit_at, d.notify, d.orcpt, d.rcpt_address, d.report_state,
  m.envid, m.ret, m.subject, m.auto_submitted, m.headers, m.raw_base64`);

type Raw = Record<string, unknown>;
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

const toCandidate = (r: Raw): DsnCandidate => ({
  id: Number(r.id),
  queueId: String(r.queue_id),
  recipient: String(r.recipient),
  state: String(r.state),
  reason: str(r.reason),
  text: String(r.text),
  smsCount: Number(r.sms_count),
  messageId: str(r.message_id),
  mailFrom: str(r.mail_from),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  firstSubmitAt: numOrNull(r.first_submit_at),
  notify: str(r.notify),
  orcpt: str(r.orcpt),
  rcptAddress: String(r.rcpt_address),
  reportState: String(r.report_state),
  envid: str(r.envid),
  ret: str(r.ret),
  subject: str(r.subject),
  autoSubmitted: str(r.auto_submitted),
  headers: str(r.headers),
  rawBase64: str(r.raw_base64),
});

export const fromOutboxColumns = (r: Raw): OutboxRow => ({
  id: Number(r.id),
  facts: json<OutboxFacts>(r.facts),
  createdAt: Number(r.created_at),
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  state: r.state as OutboxRow['state'],
  lastError: str(r.last_error),
});

function* insertOutbox(ctx: QueueContext, facts: OutboxFacts, now: number): Program<number> {
  const res = yield sql`INSERT INTO outbox (kind, env_to, facts, created_at, updated_at, next_attempt_at)
    VALUES (${facts.kind}, ${facts.to}, ${JSON.stringify(facts)}, ${now}, ${now}, ${now})${ctx.sql.returningId}`;
  return Number(res.rows[0]?.id ?? res.lastId);
}

/** The sweep: final (relayed, delayed) rows whose sms_dsn row is still pending become outbox rows. */
export function* reportsDue(
  ctx: QueueContext,
  now: number,
  sweep: ReportSweep,
): Program<{ made: number; capped: number }> {
  const relayedBefore = sweep.receiptsRequested ? now - sweep.relayedAfterMs : now;
  const rows = rowsOf(
    yield sql`SELECT ${CANDIDATE_COLUMNS} FROM sms_dsn d JOIN sms s ON s.id = d.sms_id
          LEFT JOIN mail_facts m ON m.queue_id = s.queue_id
        WHERE s.state IN (${FINAL})
          OR (s.state = 'submitted' AND s.first_submit_at <= ${relayedBefore})
          OR (s.state IN ('queued', 'sending') AND d.report_state = 'pending' AND s.created_at <= ${now - sweep.delayAfterMs})
        ORDER BY d.sms_id LIMIT 500${ctx.sql.skipLockedOf('d')}`,
  );
  let made = 0;
  let capped = 0;
  for (const r of rows) {
    const cand = toCandidate(r);
    const plan = planReport(cand, sweep, now);
    if (plan.kind === 'wait') continue;
    if (plan.kind === 'report') {
      const sent =
        sweep.capPerHour > 0
          ? firstRow<{ n: unknown }>(
              yield sql`SELECT COUNT(*) AS n FROM outbox WHERE env_to = ${plan.facts.to} AND kind = 'report'
                  AND created_at > ${now - HOUR_MS}`,
            )
          : undefined;
      if (sent && Number(sent.n) >= sweep.capPerHour) capped++;
      else {
        yield* insertOutbox(ctx, plan.facts, now);
        made++;
      }
    }
    if (plan.next === 'done') changes(yield sql`DELETE FROM sms_dsn WHERE sms_id = ${cand.id}`);
    else changes(yield sql`UPDATE sms_dsn SET report_state = ${plan.next} WHERE sms_id = ${cand.id}`);
  }
  return { made, capped };
}

/** The reply's outbox facts once its match (or none) is read. */
function replyFacts(sms: InboundSms, match: Raw | undefined, now: number, settings: ReplySettings) {
  const phone = sms.sourceAddr.replace(/^\+/, '');
  const to = match ? str(match.reply_to) || str(match.mail_from) : settings.defaultTo;
  if (!to) return undefined;
  const domain = str(match?.rcpt_address)?.split('@')[1] ?? settings.domain;
  return {
    kind: 'reply' as const,
    to,
    from: `${phone}@${domain}`,
    phone,
    text: sms.text,
    receivedAt: now,
    original: match
      ? {
          queueId: String(match.queue_id),
          messageId: str(match.message_id),
          subject: str(match.subject),
          text: String(match.text),
          sentAt: Number(match.created_at),
        }
      : null,
  };
}

/** A reply goes to the latest sender to that phone within the window (Reply-To first), else default_to, else kept. */
export function* storeReply(
  ctx: QueueContext,
  sms: InboundSms,
  now: number,
  settings: ReplySettings,
): Program<ReplyOutcome> {
  // Phone numbers as the spool stores them: digits only (a reply's source_addr may carry '+').
  const phone = sms.sourceAddr.replace(/\D/g, '');
  const match = firstRow(
    yield sql`SELECT s.queue_id, s.recipient, s.text, s.message_id, s.mail_from, s.created_at, d.rcpt_address, m.subject,
          m.reply_to
        FROM sms s LEFT JOIN sms_dsn d ON d.sms_id = s.id LEFT JOIN mail_facts m ON m.queue_id = s.queue_id
        WHERE s.recipient = ${phone} AND s.created_at >= ${now - settings.windowMs}
          AND s.state NOT IN ('refused', 'cancelled') AND s.mail_from IS NOT NULL
        ORDER BY s.created_at DESC, s.id DESC LIMIT 1`,
  );
  const facts = replyFacts(sms, match, now, settings);
  if (!facts) {
    yield* storeInbound(sms, now);
    return { kind: 'kept' };
  }
  const outboxId = yield* insertOutbox(ctx, facts, now);
  return match
    ? { kind: 'mailed', outboxId, to: facts.to, queueId: String(match.queue_id) }
    : { kind: 'default', outboxId, to: facts.to };
}

/** Due pending rows whose lease (if any) has run out: this owner's for `leaseMs`, the attempt counted. */
export function* claimOutbox(
  ctx: QueueContext,
  limit: number,
  now: number,
  leaseMs: number,
  owner: string,
): Program<OutboxRow[]> {
  const due = rowsOf<{ id: unknown }>(
    yield sql`SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ${now}
          AND (lease_until IS NULL OR lease_until <= ${now})
        ORDER BY next_attempt_at, id LIMIT ${limit}${ctx.sql.skipLocked}`,
  );
  if (due.length === 0) return [];
  const rows = rowsOf(
    yield sql`UPDATE outbox SET owner = ${owner}, lease_until = ${now + leaseMs}, attempts = attempts + 1
        WHERE id IN (${list(due.map((r) => Number(r.id)))}) RETURNING *`,
  );
  return rows.map(fromOutboxColumns).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
}

/** The leases a node held in its earlier life: nothing of its own is in flight while it starts. */
export function* releaseOutbox(owner: string): Program<number> {
  return changes(yield sql`UPDATE outbox SET lease_until = NULL WHERE state = 'pending' AND owner = ${owner}`);
}

export function* outboxDone(id: number, result: OutboxResult, now: number): Program<void> {
  switch (result.kind) {
    case 'sent':
      changes(
        yield sql`UPDATE outbox SET state = 'sent', updated_at = ${now}, lease_until = NULL, last_error = NULL WHERE id = ${id}`,
      );
      return;
    case 'retry':
      changes(
        yield sql`UPDATE outbox SET next_attempt_at = ${result.nextAt}, updated_at = ${now}, lease_until = NULL,
            last_error = ${result.error} WHERE id = ${id}`,
      );
      return;
    case 'dropped':
      changes(
        yield sql`UPDATE outbox SET state = 'dropped', updated_at = ${now}, lease_until = NULL, last_error = ${result.error}
            WHERE id = ${id}`,
      );
  }
}

export function* listOutbox(limit: number): Program<OutboxRow[]> {
  return rowsOf(yield sql`SELECT * FROM outbox ORDER BY id DESC LIMIT ${limit}`).map(fromOutboxColumns);
}

/** A mail's reports and the replies to it, by queue id (the web page's timeline), oldest first. */
export function* outboxFor(ctx: QueueContext, queueId: string): Program<OutboxRow[]> {
  return rowsOf(yield sql`SELECT * FROM outbox WHERE ${ctx.sql.outboxQueueId} = ${queueId} ORDER BY id`).map(
    fromOutboxColumns,
  );
}

export function* outboxCounts(): Program<OutboxCounts> {
  const rows = rowsOf<{ state: string; n: unknown }>(yield sql`SELECT state, COUNT(*) AS n FROM outbox GROUP BY state`);
  const get = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
  return { pending: get('pending'), sent: get('sent'), dropped: get('dropped') };
}

/** With prune: the facts of rows gone, and outbox rows settled before `before`. */
export function* pruneOutbox(before: number): Program<void> {
  changes(yield sql`DELETE FROM sms_dsn WHERE NOT EXISTS (SELECT 1 FROM sms s WHERE s.id = sms_dsn.sms_id)`);
  changes(
    yield sql`DELETE FROM mail_facts WHERE NOT EXISTS (SELECT 1 FROM sms s WHERE s.queue_id = mail_facts.queue_id)`,
  );
  changes(yield sql`DELETE FROM outbox WHERE state <> 'pending' AND updated_at < ${before}`);
}
