/**
 * Taking a mail's rows in, for every engine: each row's facts for the provider's rules are read in the same
 * transaction as the inserts (rows of concurrent mails, and of one call, see each other), decideAcceptance says
 * what is stored. On PostgreSQL one recipient's rules are decided by one transaction at a time, on every node.
 */
import { acceptanceQuery, decideAcceptance, type AcceptanceFacts } from '../../policy/acceptance.js';
import type { PolicyRules } from '../../policy/rules.js';
import type { AcceptOutcome, NewSms, SmsRow } from '../types.js';
import type { QueueContext } from './engine.js';
import { numOrNull, type Program, raw, sql, rowsOf, changes } from './program.js';
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

/**
 * The rules' facts for one row, in one statement (one round trip on PostgreSQL, where a mail's accept was nine):
 * the first row with its Message-ID (retransmission), when an identical SMS was last accepted (duplicate), and the
 * latest acceptance times to the recipient (flood), as rows tagged by what they answer.
 */
function* acceptanceFacts(ctx: QueueContext, row: NewSms, now: number, rules: PolicyRules): Program<AcceptanceFacts> {
  const { floodLimit, duplicateSince } = acceptanceQuery(now, rules);
  const same = row.messageId
    ? sql`SELECT 'same' AS k, queue_id AS q, created_at AS t, sms_count AS n, coding AS c FROM (
          SELECT queue_id, created_at, sms_count, coding FROM sms
          WHERE message_id = ${row.messageId} AND recipient = ${row.recipient} AND state <> 'refused'
          ORDER BY id LIMIT 1) same
        UNION ALL `
    : raw('');
  // The limit is written into the SQL: see recentAccepted.
  const recent =
    floodLimit > 0
      ? sql` UNION ALL SELECT 'recent', NULL, created_at, NULL, NULL FROM (
            SELECT created_at FROM sms WHERE recipient = ${row.recipient} AND state <> 'refused'
            ORDER BY created_at DESC LIMIT ${raw(String(Math.trunc(floodLimit)))}) recent`
      : raw('');
  const facts = rowsOf<{ k: string; q: string | null; t: unknown; n: unknown; c: SmsRow['coding'] | null }>(
    yield sql`${same}SELECT 'last' AS k, NULL AS q, MAX(created_at) AS t, NULL AS n, NULL AS c FROM sms${ctx.sql.byRecipient}
        WHERE recipient = ${row.recipient} AND created_at > ${duplicateSince} AND fingerprint = ${row.fingerprint}
          AND state <> 'refused'${recent}`,
  );
  const sameRow = facts.find((f) => f.k === 'same');
  return {
    sameMessageId: sameRow && {
      queueId: sameRow.q as string,
      createdAt: Number(sameRow.t),
      smsCount: Number(sameRow.n),
      coding: sameRow.c as SmsRow['coding'],
    },
    // Newest first, as the flood rule reads them (a compound SELECT keeps no order of its own).
    recentAccepted: facts
      .filter((f) => f.k === 'recent')
      .map((f) => Number(f.t))
      .sort((x, y) => y - x),
    lastSameFingerprintAt: numOrNull(facts.find((f) => f.k === 'last')?.t) ?? undefined,
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
