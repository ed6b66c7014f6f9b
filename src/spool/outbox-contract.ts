/**
 * The outbox part of the storage contract: DSN facts kept with the rows, reports made from them, reply
 * mails, and the outbox the smarthost sender drains. Each operation is one transaction in every backend.
 */
import type { OutboxFacts, OutboxRow } from '../outbox/facts.js';
import type { ReportRules } from '../outbox/plan.js';
import type { PartKey, Reassembled } from '../sms/reassembly.js';
import type { InboundSms } from './types.js';

export interface ReportSweep extends ReportRules {
  /** Most reports to one sender per hour (0: no limit); more are dropped with a log line by the caller. */
  capPerHour: number;
}

export interface ReplySettings {
  windowMs: number;
  defaultTo: string | null;
  /** For From <phone>@<domain> when the matched row has no RCPT address, and unmatched replies. */
  domain: string;
}

export type ReplyOutcome =
  | { kind: 'mailed'; outboxId: number; to: string; queueId: string }
  | { kind: 'default'; outboxId: number; to: string }
  | { kind: 'kept' };

/** An SMS from a phone that matched no sent message and had nowhere to go (no replies.default_to): kept. */
export interface KeptReply {
  receivedAt: number;
  sourceAddr: string;
  destinationAddr: string;
  text: string;
}

export type OutboxResult =
  | { kind: 'sent' }
  | { kind: 'retry'; nextAt: number; error: string }
  | { kind: 'dropped'; error: string };

export interface OutboxCounts {
  pending: number;
  sent: number;
  dropped: number;
}

/** One part of a concatenated reply as it came: its text bytes (the header off) and its place. */
export interface ReplyPart extends PartKey {
  seq: number;
  dataCoding: number;
  body: Buffer;
}

/** How a whole reply is stored in the transaction that completes it: mailed (replies on) or only kept. */
export interface WholeReplyHandling {
  replies: ReplySettings | null;
  systemType: string | undefined;
}

export interface WholeReply {
  reply: Reassembled;
  outcome: ReplyOutcome;
}

export interface ReplyPartsStore {
  /**
   * Keep a part of a concatenated reply; the part that completes its message (under a lock on its key, so parts
   * arriving on two nodes at once cannot both wait) gives the whole reply, stored as storeReply (or kept) with
   * its parts deleted in the same transaction: neither lost nor mailed twice.
   */
  storeReplyPart(part: ReplyPart, now: number, how: WholeReplyHandling): Promise<WholeReply | undefined>;
  /** Messages whose first part came `timeoutMs` ago or more: stored as they are, gaps marked (one transaction). */
  expireReplyParts(now: number, timeoutMs: number, how: WholeReplyHandling): Promise<WholeReply[]>;
}

export interface OutboxStore extends ReplyPartsStore {
  /** Make the reports due now (final, relayed, delayed) as outbox rows, in one transaction; counts made/capped. */
  reportsDue(now: number, sweep: ReportSweep): Promise<{ made: number; capped: number }>;
  /** A reply from a phone: matched to the latest SMS to that phone → an outbox mail; else default_to or kept. */
  storeReply(sms: InboundSms, now: number, settings: ReplySettings): Promise<ReplyOutcome>;
  /** Take up to `limit` due outbox rows for `leaseMs`: no other sender takes them meanwhile. */
  claimOutbox(limit: number, now: number, leaseMs: number, owner: string): Promise<OutboxRow[]>;
  /** At start: the leases this node held when it stopped (or died while sending) are released; how many. */
  releaseOutbox(owner: string): Promise<number>;
  outboxDone(id: number, result: OutboxResult, now: number): Promise<void>;
  /** Newest first, for `smtp2sms queue`. */
  listOutbox(limit: number): Promise<OutboxRow[]>;
  outboxCounts(): Promise<OutboxCounts>;
}

export const outboxRecipient = (f: OutboxFacts) => f.to;
