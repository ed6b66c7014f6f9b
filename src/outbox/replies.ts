/**
 * A reply from a phone → the spool: matched to the latest SMS sent to that phone and put in the outbox as a mail
 * to its sender (one transaction), or to replies.default_to, or kept for `smtp2sms queue`.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import type { OutboxStore, ReplyOutcome, ReplySettings } from '../spool/outbox-contract.js';
import type { InboundSms } from '../spool/types.js';

/** Replies are mailed when there is a smarthost and they are not turned off; else they are only kept. */
export function replySettings(config: Config): ReplySettings | null {
  if (!config.outbound.smtp_url || config.replies.enabled === false) return null;
  return {
    windowMs: config.replies.window_s * 1000,
    defaultTo: config.replies.default_to,
    domain: config.smtp.domains[0] ?? 'localhost',
  };
}

export function logReply(log: Logger, at: { from: string; to: string }, outcome: ReplyOutcome): void {
  if (outcome.kind === 'mailed') {
    log.info(
      { ...at, mailTo: outcome.to, queueId: outcome.queueId, outboxId: outcome.outboxId },
      'SMS reply mailed to the sender',
    );
  } else if (outcome.kind === 'default') {
    log.info(
      { ...at, mailTo: outcome.to, outboxId: outcome.outboxId },
      'SMS reply matched nothing: mailed to replies.default_to',
    );
  } else log.info(at, 'SMS reply matched nothing: kept (smtp2sms queue shows it)');
}

export function replyHandler(
  store: OutboxStore,
  config: Config,
  log: Logger,
): (msg: InboundSms, now: number) => Promise<void> {
  const off = { windowMs: config.replies.window_s * 1000, defaultTo: null, domain: 'localhost' };
  const settings = replySettings(config) ?? off;
  return async (msg, now) => {
    logReply(log, { from: msg.sourceAddr, to: msg.destinationAddr }, await store.storeReply(msg, now, settings));
  };
}
