/**
 * The spool as the pipeline's stages use it (the SMTP intake, the relay, receipts, the web page): the store's
 * operations, plus the relay's wait for fresh mail and its send outcomes as calls (spool/local.ts keeps them while
 * the store refuses writes). spool/open.ts opens the configured store behind it.
 */
import type { PolicyRules } from '../policy/rules.js';
import type { SendOutcome, SpoolStore } from './store.js';
import type { AcceptOutcome, NewSms, SmsRow } from './types.js';

/**
 * The operations the Spool hands to the store as they are (LocalSpool adds nothing but, for close, the send
 * outcomes it still keeps): their signatures are the store's.
 */
type StoreOperations =
  | 'recentAccepted'
  | 'acceptedSince'
  | 'applyReceipt'
  | 'resolveEarlyReceipts'
  | 'storeInbound'
  | 'storeReplyPart'
  | 'expireReplyParts'
  | 'requeueSending'
  | 'expireQueued'
  | 'prune'
  | 'pendingCount'
  | 'countsByState'
  | 'oldestQueuedAt'
  | 'byQueueId'
  | 'listMessages'
  | 'dailyCounts'
  | 'cancelQueued'
  | 'outboxFor'
  | 'close';

/** How a row goes back to the queue: a reschedule outcome without its row. */
export type Reschedule = Omit<Extract<SendOutcome, { op: 'reschedule' }>, 'op' | 'id'>;

export interface Spool extends Pick<SpoolStore, StoreOperations> {
  /**
   * Store the rows of one mail, applying the provider's rules with the spool's state in the same transaction
   * (so concurrent identical mails cannot both pass). Duplicates are stored as 'refused'.
   */
  accept(rows: NewSms[], now: number, rules?: PolicyRules): Promise<AcceptOutcome[]>;
  /**
   * Take up to `limit` due rows; they are 'sending' until the relay decides. When none is due, wait up to
   * `waitMs` for fresh mail (handed over as it is stored) or for a row to fall due.
   */
  claim(limit: number, now: number, waitMs?: number): Promise<SmsRow[]>;
  /** End a claim's wait now (the relay is stopping, or has no bind up to send what it would be handed). */
  stopWaiting(): Promise<void>;
  /** A part was accepted with this SMSC id; `last`: the whole message is now submitted. */
  submitted(id: number, part: number, smscId: string, last: boolean, now: number): Promise<void>;
  /**
   * Back to the queue, due at `nextAt`. With `parts` the message goes again whole (a composite with a new
   * reference); `countAttempt: false` gives the attempt back (see SendOutcome).
   */
  reschedule(id: number, how: Reschedule): Promise<void>;
  finish(
    id: number,
    state: 'failed' | 'expired' | 'undeliverable' | 'delivered',
    reason: string,
    now: number,
  ): Promise<void>;
}
