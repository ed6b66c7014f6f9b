/**
 * Taking a mail's rows in, for every engine: each row's facts for the provider's rules are read in the same
 * transaction as the inserts (rows of concurrent mails, and of one call, see each other), decideAcceptance says
 * what is stored. On PostgreSQL one recipient's rules are decided by one transaction at a time, on every node.
 */
import { acceptanceQuery, decideAcceptance, type AcceptanceFacts } from '../../policy/acceptance.js';
import type { PolicyRules } from '../../policy/rules.js';
import type { AcceptOutcome, NewSms, SmsRow } from '../types.js';
import type { QueueContext } from './engine.js';
import { numOrNull, type Program, raw, sql, rowsOf, firstRow, changes } from './program.js';
import { lock } from './receipts.js';

export function* acceptRows(
  ctx: QueueContext,
  rows: readonly NewSms[],
  now: number,
  rules: PolicyRules | undefined,
): Program<AcceptOutcome[]> {
  if (rules) yield* lock(ctx, () => rows.map((r) => `rcpt:${r.recipient}`));
  const outcomes: AcceptOutcome[] = [];
  for (const row of rows) {
    if (!rules) {
      outcomes.push({ kind: 'queued', id: yield* insertSms(ctx, row, now) });
      continue;
    }
    const decision = decideAcceptance(yield* acceptanceFacts(ctx, row, now, rules), now, rules);
    switch (decision.kind) {
      case 'store':
        outcomes.push({ kind: 'queued', id: yield* insertSms(ctx, row, now) });
        break;
      case 'duplicate':
        yield* insertSms(ctx, { ...row, state: 'refused', reason: decision.reason }, now);
        outcomes.push({ kind: 'duplicate', ageMs: decision.ageMs, dropped: decision.dropped });
        break;
      default:
        outcomes.push(decision);
    }
  }
  return outcomes;
}

/** One row in; its id out. A row stored 'sending' is the relay's first attempt, claimed by this node. */
function* insertSms(ctx: QueueContext, r: NewSms, now: number): Program<number> {
  const empty = JSON.stringify(r.parts.map(() => null));
  const sending = r.state === 'sending';
  const claim = sending ? ctx.own.claimInsert() : undefined;
  const res = yield sql`INSERT INTO sms (queue_id, recipient, state, reason, source_addr, source_ton, source_npi, text,
      comment, coding, data_coding, sms_count, truncated, parts, message_id, smtp_user, mail_from, client_ip,
      fingerprint, created_at, updated_at, next_attempt_at, smsc_ids, receipts, attempts${claim?.columns ?? raw('')})
    VALUES (${r.queueId}, ${r.recipient}, ${r.state}, ${r.reason}, ${r.sourceAddr}, ${r.sourceTon}, ${r.sourceNpi},
      ${r.text}, ${r.comment}, ${r.coding}, ${r.dataCoding}, ${r.smsCount}, ${ctx.sql.bool(r.truncated)},
      ${JSON.stringify(r.parts)}, ${r.messageId}, ${r.smtpUser}, ${r.mailFrom}, ${r.clientIp}, ${r.fingerprint},
      ${now}, ${now}, ${now}, ${empty}, ${empty}, ${sending ? 1 : 0}${claim?.values ?? raw('')})${ctx.sql.returningId}`;
  const id = Number(res.rows[0]?.id ?? res.lastId);
  if (r.mail) {
    const m = r.mail;
    changes(
      yield sql`INSERT INTO mail_facts (queue_id, ret, envid, subject, reply_to, auto_submitted, headers, raw_base64)
          VALUES (${r.queueId}, ${m.ret}, ${m.envid}, ${m.subject}, ${m.replyTo}, ${m.autoSubmitted}, ${m.headers},
            ${m.rawBase64}) ON CONFLICT (queue_id) DO NOTHING`,
    );
  }
  if (r.dsn && r.state !== 'refused') {
    changes(
      yield sql`INSERT INTO sms_dsn (sms_id, notify, orcpt, rcpt_address)
          VALUES (${id}, ${r.dsn.notify}, ${r.dsn.orcpt}, ${r.dsn.rcptAddress})`,
    );
  }
  return id;
}

function* acceptanceFacts(ctx: QueueContext, row: NewSms, now: number, rules: PolicyRules): Program<AcceptanceFacts> {
  const { floodLimit, duplicateSince } = acceptanceQuery(now, rules);
  const same = row.messageId
    ? firstRow<{ queue_id: string; created_at: unknown; sms_count: number; coding: SmsRow['coding'] }>(
        yield sql`SELECT queue_id, created_at, sms_count, coding FROM sms
            WHERE message_id = ${row.messageId} AND recipient = ${row.recipient} AND state <> 'refused' ORDER BY id LIMIT 1`,
      )
    : undefined;
  const last = firstRow<{ t: unknown }>(
    yield sql`SELECT MAX(created_at) AS t FROM sms${ctx.sql.byRecipient}
        WHERE recipient = ${row.recipient} AND created_at > ${duplicateSince} AND fingerprint = ${row.fingerprint}
          AND state <> 'refused'`,
  );
  return {
    sameMessageId: same && {
      queueId: same.queue_id,
      createdAt: Number(same.created_at),
      smsCount: same.sms_count,
      coding: same.coding,
    },
    recentAccepted: yield* recentAccepted(row.recipient, floodLimit),
    lastSameFingerprintAt: numOrNull(last?.t) ?? undefined,
  };
}

/** Acceptance times of the latest messages to this recipient (refused ones do not count), newest first. */
export function* recentAccepted(recipient: string, limit: number): Program<number[]> {
  if (limit <= 0) return [];
  // The limit is written into the SQL: SQLite (STAT4 build) compiles the statement again whenever a bound LIMIT
  // is rebound, which cost more than the query. It is the configured flood limit, so one statement is cached.
  const rows = rowsOf<{ created_at: unknown }>(
    yield sql`SELECT created_at FROM sms WHERE recipient = ${recipient} AND state <> 'refused'
        ORDER BY created_at DESC LIMIT ${raw(String(Math.trunc(limit)))}`,
  );
  return rows.map((r) => Number(r.created_at));
}
