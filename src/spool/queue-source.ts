/** What `smtp2sms queue` reads: a read-only view of the spool (spool/open.ts opens the configured one). */
import type { OutboxRow } from '../outbox/facts.js';
import type { KeptReply, OutboxCounts } from './outbox-contract.js';
import type { SmsRow, SmsState } from './types.js';

/** Each answer synchronous (SQLite's reader) or a promise (PostgreSQL's). */
export interface QueueSource {
  countsByState(): Record<string, number> | Promise<Record<string, number>>;
  list(filter: { state?: SmsState; since?: number; limit: number }): SmsRow[] | Promise<SmsRow[]>;
  byId(id: number): SmsRow | undefined | Promise<SmsRow | undefined>;
  byQueueId(queueId: string): SmsRow[] | Promise<SmsRow[]>;
  /** Reports and reply mails waiting for, sent to or given up by the smarthost. */
  outboxCounts(): OutboxCounts | Promise<OutboxCounts>;
  listOutbox(limit: number): OutboxRow[] | Promise<OutboxRow[]>;
  keptReplies(limit: number): KeptReply[] | Promise<KeptReply[]>;
  close(): void | Promise<void>;
}
