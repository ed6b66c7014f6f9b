/**
 * After DATA: a received mail becomes spooled SMS rows and the reply that says what will be sent. This is the
 * one function a mail passes through between the listener and the spool; it knows nothing of smtp-server.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ReplyError } from '../errors.js';
import { replies, type Reply } from '../replies.js';
import { parseMail } from '../mail/parse.js';
import { withSmscComment } from '../sms/comment.js';
import { smsOptionsFrom } from '../config/sms-options.js';
import type { Phone } from '../sms/phone.js';
import { describeSms, prepareSms, type PreparedSms } from '../sms/prepare.js';
import { parseSender, type Sender } from '../sms/sender.js';
import { toStored } from '../spool/stored-parts.js';
import { duplicateReply, floodReply, rulesFrom } from '../policy/rules.js';
import type { AcceptOutcome, NewSms, RecipientDsn } from '../spool/types.js';
import type { Spool } from '../spool/spool.js';
import { storedNotify } from '../delivery/dsn.js';
import { mailFacts } from '../outbox/original.js';
import type { AuthUser } from './auth.js';

export interface Submission {
  raw: Buffer;
  /** Accepted RCPT TO addresses in order, with the number each one is. */
  recipients: { address: string; phone: Phone; notify?: string[] | null; orcpt?: string | null }[];
  user: AuthUser | undefined;
  mailFrom: string;
  clientIp: string;
  /** DSN (RFC 3461) of MAIL FROM: RET and ENVID. */
  ret?: 'FULL' | 'HDRS' | null;
  envid?: string | null;
}

export interface IntakeResult {
  /** The SMTP reply. */
  reply: Reply;
  /** LMTP: one reply per accepted RCPT, in order. */
  perRecipient: Reply[];
  queueId?: string;
}

export interface IntakeDeps {
  config: Config;
  spool: Pick<Spool, 'accept'>;
  now: () => number;
  nextRef: () => number;
  log: Logger;
}

/** Queue ids: a random prefix per process start, then a counter: unique across restarts, no crypto per mail. */
const ID_PREFIX = randomBytes(3).toString('hex');
let idCounter = 0;
export function newQueueId(): string {
  idCounter = (idCounter + 1) % 0x1000000;
  return `${ID_PREFIX}${idCounter.toString(16).padStart(6, '0')}`;
}

export function fingerprint(recipient: string, sender: string, text: string): string {
  return createHash('sha256').update(`${recipient}\0${sender}\0${text}`).digest('hex');
}

function senderFor(requested: string | undefined, user: AuthUser | undefined, config: Config): Sender | undefined {
  const force = { ton: config.smpp.source_ton, npi: config.smpp.source_npi };
  if (requested !== undefined) {
    if (!user) throw new ReplyError(replies.senderNeedsAuth(requested));
    if (!user.allowed_senders.includes(requested)) {
      throw new ReplyError(replies.senderNotAllowed(requested, user.username));
    }
    return parseSender(requested, force);
  }
  const addr = user?.source_addr || config.smpp.source_addr;
  return addr ? parseSender(addr, force) : undefined;
}

const queuedReply = (queueId: string, recipients: number, sms: PreparedSms): Reply =>
  replies.queued(queueId, recipients, describeSms(sms), sms.truncated);

function recipientDsn(r: Submission['recipients'][number] | undefined): RecipientDsn | undefined {
  if (!r) return undefined;
  return { rcptAddress: r.address, notify: storedNotify(r.notify ?? undefined), orcpt: r.orcpt ?? null };
}

const uniform = (reply: Reply, n: number): IntakeResult => ({
  reply,
  perRecipient: Array.from({ length: n }, () => reply),
});

/**
 * Per-recipient outcomes → one reply per recipient (LMTP) and one SMTP reply: 250 when anything was accepted
 * (naming what was refused and why), else the refusal itself (450 when any of it is temporary).
 */
function repliesFor(
  sub: Submission,
  queueId: string,
  rows: NewSms[],
  outcomes: AcceptOutcome[],
  sms: PreparedSms,
  rules: ReturnType<typeof rulesFrom>,
): IntakeResult {
  const byRecipient = new Map<string, Reply>();
  const queued: string[] = [];
  const notes: string[] = [];
  const refusals: Reply[] = [];
  rows.forEach((row, i) => {
    const o = outcomes[i] as AcceptOutcome;
    const to = `+${row.recipient}`;
    let reply: Reply;
    switch (o.kind) {
      case 'queued':
        queued.push(row.recipient);
        reply = queuedReply(queueId, 1, sms);
        break;
      case 'retransmission':
        reply = replies.retransmission(o.queueId, describeSms(o));
        notes.push(`${to} already queued as ${o.queueId}`);
        break;
      case 'duplicate':
        reply = duplicateReply(row.recipient, o.ageMs, rules, o.dropped);
        notes.push(
          `${to} ${o.dropped ? 'dropped' : 'refused'} (duplicate, accepted ${Math.floor(o.ageMs / 1000)} s ago)`,
        );
        if (!o.dropped) refusals.push(reply);
        break;
      case 'flood':
        reply = floodReply(row.recipient, rules);
        notes.push(`${to} refused for now (flood limit)`);
        refusals.push(reply);
        break;
    }
    byRecipient.set(row.recipient, reply);
  });
  const perRecipient = sub.recipients.map((r) => byRecipient.get(r.phone.digits) as Reply);
  const accepted = perRecipient.filter((r) => r.code < 400);
  if (accepted.length === 0) {
    const temporary = refusals.some((r) => r.code < 500);
    const first = refusals[0] as Reply;
    const reply =
      rows.length === 1 ? first : temporary ? replies.allRefusedForNow(refusals) : replies.allRefused(refusals);
    return { reply, perRecipient };
  }
  if (rows.length === 1)
    return { reply: perRecipient[0] as Reply, perRecipient, ...(queued.length ? { queueId } : {}) };
  const head = queued.length > 0 ? queuedReply(queueId, queued.length, sms) : null;
  return {
    reply: replies.queuedWithNotes(head, notes),
    perRecipient,
    ...(queued.length ? { queueId } : {}),
  };
}

export async function acceptMail(sub: Submission, deps: IntakeDeps): Promise<IntakeResult> {
  const { config, log } = deps;
  const n = sub.recipients.length;
  try {
    const mail = await parseMail(sub.raw, {
      defaultCharset: config.smtp.default_charset,
      commentPrefix: config.smtp.comment_prefix,
      subject: config.smtp.subject,
      maxHtmlLength: config.smtp.max_html_chars,
    });
    if (mail.attachments.length > 0) {
      log.info({ attachments: mail.attachments }, 'attachments ignored: only text becomes SMS');
    }
    const sender = senderFor(mail.requestedSender, sub.user, config);
    const smsOpts = smsOptionsFrom(config);
    let sms = prepareSms(mail.text, smsOpts, deps.nextRef());
    if (config.smpp.comments === 'smsc') sms = withSmscComment(sms, mail.comment, smsOpts);

    const queueId = newQueueId();
    const distinct = [...new Map(sub.recipients.map((r) => [r.phone.digits, r.phone])).values()];
    const rcptOf = new Map(sub.recipients.map((r) => [r.phone.digits, r]));
    const facts = mailFacts(sub.raw, { ret: sub.ret ?? null, envid: sub.envid ?? null }, mail.subject);
    const parts = toStored(sms.parts);
    const rows: NewSms[] = distinct.map((phone) => ({
      queueId,
      recipient: phone.digits,
      sourceAddr: sender?.addr ?? '',
      sourceTon: sender?.ton ?? 0,
      sourceNpi: sender?.npi ?? 0,
      text: sms.text,
      comment: mail.comment,
      coding: sms.coding,
      dataCoding: sms.dataCoding,
      smsCount: sms.smsCount,
      truncated: sms.truncated,
      parts,
      messageId: mail.messageId ?? null,
      smtpUser: sub.user?.username ?? null,
      mailFrom: sub.mailFrom || null,
      clientIp: sub.clientIp,
      fingerprint: fingerprint(phone.digits, sender?.addr ?? '', sms.text),
      state: 'queued',
      reason: null,
      dsn: recipientDsn(rcptOf.get(phone.digits)),
      mail: facts,
    }));
    const rules = rulesFrom(config.policy);
    const outcomes = await deps.spool.accept(rows, deps.now(), rules);
    const result = repliesFor(sub, queueId, rows, outcomes, sms, rules);
    log.info(
      {
        queueId,
        recipients: rows.map((r, i) => ({ to: r.recipient, outcome: outcomes[i]?.kind })),
        parts: sms.smsCount,
        coding: sms.coding,
        truncated: sms.truncated,
        messageId: mail.messageId,
      },
      result.reply.code < 400 ? 'mail accepted' : 'mail refused by the provider rules',
    );
    return result;
  } catch (e) {
    // A refusal (a SpoolError too: its reply is 451 notStored, its message the cause, which the client never reads).
    if (e instanceof ReplyError) {
      const level = e.reply.code >= 500 ? 'info' : 'error';
      log[level]({ code: e.reply.code, enhanced: e.reply.enhanced, reason: e.message }, 'mail refused');
      return uniform(e.reply, n);
    }
    log.error({ err: e }, 'mail failed with an unexpected error');
    return uniform(replies.localError(), n);
  }
}
