/**
 * The storage contract each spool driver implements (SQLite, PostgreSQL): storage operations only, each
 * one transaction, facts in and facts out. The domain logic sits outside: the provider's rules decide in
 * src/policy/acceptance.ts, the receipt rules in src/delivery/receipt-state.ts, and the relay's wait for fresh mail
 * in spool/local.ts, above any store. Every operation returns a promise that resolves once its transaction has
 * committed (a backend may gather several into one commit, as SQLite's group commit does) and rejects with a
 * SpoolError (→ 451 4.3.0) when it cannot be stored.
 */
import type { PolicyRules } from '../policy/rules.js';
import type { OutboxRow } from '../outbox/facts.js';
import type { OutboxStore } from './outbox-contract.js';
import type {
  AcceptOutcome,
  CancelOutcome,
  DailyCount,
  InboundSms,
  MessageFilter,
  NewSms,
  ReceiptUpdate,
  RowScope,
  SmsRow,
  SmsState,
  StoredPart,
} from './types.js';

/** A relay's send outcome, as data: it can be kept in memory while the store refuses writes and written later. */
export type SendOutcome =
  | { op: 'submitted'; id: number; part: number; smscId: string; last: boolean; now: number }
  | {
      op: 'reschedule';
      id: number;
      reason: string;
      nextAt: number;
      now: number;
      parts?: StoredPart[];
      countAttempt?: boolean;
    }
  | {
      op: 'finish';
      id: number;
      state: Extract<SmsState, 'failed' | 'expired' | 'undeliverable' | 'delivered'>;
      reason: string;
      now: number;
    };

export interface SpoolStore extends OutboxStore {
  /**
   * Store the rows of one mail in one transaction. With `rules`, each row's facts are read in that transaction
   * and decideAcceptance says what is stored (rows of one call see each other). Rows stored 'sending' are a
   * relay's first attempt (attempts = 1).
   */
  accept(rows: readonly NewSms[], now: number, rules?: PolicyRules): Promise<AcceptOutcome[]>;
  /** Acceptance times of the latest `limit` stored (not refused) rows to this recipient, newest first. */
  recentAccepted(recipient: string, limit: number): Promise<number[]>;
  /** Latest acceptance per recipient since `since`. */
  acceptedSince(since: number): Promise<Array<[string, number]>>;
  /** Take up to `limit` due queued rows, oldest due first: 'sending', attempt counted. No waiting here. */
  claim(limit: number, now: number): Promise<SmsRow[]>;
  /** Earliest next attempt among queued rows. */
  nextDue(): Promise<number | undefined>;
  /**
   * Send outcomes, in order, in one transaction. 'submitted' records the part's SMSC id (and applies a receipt
   * that overtook it); with `last` a 'sending' row becomes 'submitted'. 'reschedule' with `parts` forgets the ids
   * of the earlier attempt.
   */
  record(outcomes: readonly SendOutcome[]): Promise<void>;
  /**
   * Apply a receipt to the part chooseReceiptTarget places it on (its SMSC id in any of its forms); kept ('early')
   * when no part can take it yet; 'repeat' when every part it could be about already has its final receipt.
   * `submitAt`: the receipt's own submit date (receiptDateMs).
   */
  applyReceipt(
    receiptId: string,
    stat: string,
    err: string | undefined,
    now: number,
    submitAt?: number,
  ): Promise<ReceiptUpdate | 'early' | 'repeat'>;
  /**
   * Kept receipts tried again by the rule. Those kept before `settledBefore` (when every submit_sm then in flight
   * has been answered or timed out) may now go to another form of their id; the applied ones are returned.
   */
  resolveEarlyReceipts(settledBefore: number, now: number): Promise<ReceiptUpdate[]>;
  storeInbound(msg: InboundSms, now: number): Promise<void>;
  /** Rows left 'sending' by a crash go back to the queue, due now. */
  requeueSending(now: number): Promise<number>;
  /** Queued rows accepted before `before` are expired with the reason. */
  expireQueued(before: number, now: number, reason: string): Promise<number>;
  /** Delete final rows (and kept early receipts) last changed before `before`. */
  prune(before: number): Promise<number>;
  /** Rows 'queued' or 'sending'. */
  pendingCount(): Promise<number>;
  countsByState(): Promise<Record<string, number>>;
  oldestQueuedAt(): Promise<number | undefined>;
  byQueueId(queueId: string): Promise<SmsRow[]>;
  byId(id: number): Promise<SmsRow | undefined>;
  /** Rows of the scope matching the filter, newest first (createdAt, then id), at most `limit`. */
  listMessages(filter: MessageFilter): Promise<SmsRow[]>;
  /** Messages, parts, delivered and failed per UTC day of acceptance since `since`, oldest day first. */
  dailyCounts(scope: RowScope, since: number): Promise<DailyCount[]>;
  /**
   * A row of the scope still 'queued' becomes 'cancelled' (final, never sent): one conditional update, so a relay
   * claiming it at the same moment either took it first (too-late, 'sending') or never sees it.
   */
  cancelQueued(id: number, scope: RowScope, reason: string, now: number): Promise<CancelOutcome>;
  /** Outbox rows (reports, replies) about this queue id, oldest first: a report's queueId or a reply's original. */
  outboxFor(queueId: string): Promise<OutboxRow[]>;
  /** For /healthz: can the store take writes now, and if not why. */
  writable(now?: number): Promise<{ writable: boolean; problem?: string }>;
  close(): Promise<void>;
}
