/**
 * A reply from a phone → the spool: matched to the latest SMS sent to that phone and put in the outbox as a mail
 * to its sender (one transaction), or to replies.default_to, or kept for `smtp2sms queue`.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import type { OutboxStore } from '../spool/outbox-contract.js';
import type { InboundSms } from '../spool/types.js';

export function replyHandler(store: OutboxStore, config: Config, log: Logger): (msg: InboundSms, now: number) => Promise<void> {
  const settings = {
    windowMs: config.replies.window_s * 1000,
    defaultTo: config.replies.default_to,
    domain: config.smtp.domains[0] ?? 'localhost',
  };
  return async (msg, now) => {
    const outcome = await store.storeReply(msg, now, settings);
    const at = { from: msg.sourceAddr, to: msg.destinationAddr };
    if (outcome.kind === 'mailed') log.info({ ...at, mailTo: outcome.to, queueId: outcome.queueId, outboxId: outcome.outboxId }, 'SMS reply mailed to the sender');
    else if (outcome.kind === 'default') log.info({ ...at, mailTo: outcome.to, outboxId: outcome.outboxId }, 'SMS reply matched nothing: mailed to replies.default_to');
    else log.info(at, 'SMS reply matched nothing: kept (smtp2sms queue shows it)');
  };
}
