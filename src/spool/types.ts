/**
 * The spool's data: the rows, states and outcomes the stages and the stores exchange. The operations are
 * spool/spool.ts (what the stages call) and spool/store.ts (what each store implements).
 */
import { ReplyError } from '../errors.js';
import { replies } from '../replies.js';
import type { Coding } from '../sms/encode.js';
import type { SarInfo } from '../sms/segment.js';

/** Every state a row can be in, in the order of its life (the queue command's and the web page's choices). */
export const SMS_STATES = [
  'queued',
  'sending',
  'submitted',
  'delivered',
  'undeliverable',
  'failed',
  'expired',
  'refused',
  'cancelled',
] as const;
export type SmsState = (typeof SMS_STATES)[number];

export const FINAL_STATES: readonly SmsState[] = [
  'delivered',
  'undeliverable',
  'failed',
  'expired',
  'refused',
  'cancelled',
];

/** Whose rows a reader may see: one SMTP AUTH user's, or every row (an admin). */
export type RowScope = { user: string } | 'all';

/** The web page's and API's list: newest first, keyset-paged on (createdAt, id). */
export interface MessageFilter {
  scope: RowScope;
  state?: SmsState | undefined;
  /** Recipient digits, exactly as stored. */
  recipient?: string | undefined;
  /** createdAt >= since, createdAt < until (ms). */
  since?: number | undefined;
  until?: number | undefined;
  /** Case-insensitive substring of the text or the comment. */
  text?: string | undefined;
  /** Only rows older than this one (the last row of the previous page). */
  before?: { createdAt: number; id: number } | undefined;
  limit: number;
}

/** One UTC day of a scope's messages (by acceptance time). */
export interface DailyCount {
  /** The day's start, ms since the epoch (UTC midnight). */
  day: number;
  messages: number;
  parts: number;
  delivered: number;
  /** undeliverable, failed or expired. */
  failed: number;
}

/** What a cancel did: only a row still 'queued' becomes 'cancelled'; `state` is the row's state otherwise. */
export type CancelOutcome = { kind: 'cancelled' } | { kind: 'not-found' } | { kind: 'too-late'; state: SmsState };

/** One SUBMIT_SM's payload as stored: exactly what was counted when the mail was accepted. */
export interface StoredPart {
  udh: string; // hex
  body: string; // hex
  units: number;
  sar?: SarInfo;
  payload: boolean;
}

/** One (message, recipient) row as the SMTP stage hands it over. */
export interface NewSms {
  queueId: string;
  recipient: string;
  sourceAddr: string;
  sourceTon: number;
  sourceNpi: number;
  text: string;
  comment: string;
  coding: Coding;
  dataCoding: number;
  smsCount: number;
  truncated: boolean;
  parts: StoredPart[];
  messageId: string | null;
  smtpUser: string | null;
  mailFrom: string | null;
  clientIp: string | null;
  /** Identity of the SMS for the duplicate rule: recipient, sender and text. */
  fingerprint: string;
  /**
   * 'queued'; 'sending' when the relay takes it at once (its first attempt); 'refused' for a recipient the
   * policy refused after DATA (kept for the record).
   */
  state: 'queued' | 'sending' | 'refused';
  reason: string | null;
  /** Delivery reports: this recipient's RCPT TO as written, NOTIFY and ORCPT (RFC 3461). */
  dsn?: RecipientDsn | undefined;
  /** The mail's facts for reports and reply threading (the same object on every row of one mail). */
  mail?: MailFacts | undefined;
}

export interface RecipientDsn {
  rcptAddress: string;
  /** null: no NOTIFY given; 'NEVER'; or e.g. 'SUCCESS,FAILURE'. */
  notify: string | null;
  orcpt: string | null;
}

/** Kept per mail while its rows are: what a report shows of the original and where a reply goes. */
export interface MailFacts {
  ret: 'FULL' | 'HDRS' | null;
  envid: string | null;
  subject: string | null;
  replyTo: string | null;
  autoSubmitted: string | null;
  /** The header block as received (text/rfc822-headers). */
  headers: string;
  /** The whole mail, base64, only with RET=FULL. */
  rawBase64: string | null;
}

export interface SmsRow extends Omit<NewSms, 'state'> {
  id: number;
  state: SmsState;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  nextAttemptAt: number;
  /** SMSC message id per part, null until that part's submit_sm_resp. */
  smscIds: (string | null)[];
  /** Receipt stat per part (DELIVRD, UNDELIV, …), null until its receipt. */
  receipts: (string | null)[];
  /** When each part's latest receipt came, with its err code (the timeline); may be shorter than `parts`. */
  receiptFacts: (ReceiptFact | null)[];
  firstSubmitAt: number | null;
}

/** One part's latest receipt: when it came (ms) and its err code (null when it had none). */
export interface ReceiptFact {
  at: number;
  err: string | null;
}

/**
 * A fresh row as stored for a waiting claim ('sending', first attempt): what the relay is handed. Built with the
 * keys in rowFromColumns' order (spool/columns.ts), so a handed row and a claimed one share one V8 shape: the
 * relay's property reads stay monomorphic, and no spread copies the mail's DSN facts along (the relay reads none).
 */
export function takenRow(row: NewSms, id: number, now: number): SmsRow {
  const none = row.parts.map(() => null);
  return {
    id,
    queueId: row.queueId,
    recipient: row.recipient,
    state: 'sending',
    reason: row.reason,
    sourceAddr: row.sourceAddr,
    sourceTon: row.sourceTon,
    sourceNpi: row.sourceNpi,
    text: row.text,
    comment: row.comment,
    coding: row.coding,
    dataCoding: row.dataCoding,
    smsCount: row.smsCount,
    truncated: row.truncated,
    parts: row.parts,
    messageId: row.messageId,
    smtpUser: row.smtpUser,
    mailFrom: row.mailFrom,
    clientIp: row.clientIp,
    fingerprint: row.fingerprint,
    attempts: 1,
    createdAt: now,
    updatedAt: now,
    nextAttemptAt: now,
    firstSubmitAt: null,
    smscIds: none,
    receipts: [...none],
    receiptFacts: [],
  };
}

/** The spool could not store or read: the client gets 451 4.3.0 (notStored), the log the cause. */
export class SpoolError extends ReplyError {
  constructor(override readonly cause: unknown) {
    super(replies.notStored(), `spool write failed: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'SpoolError';
  }
}

export interface InboundSms {
  sourceAddr: string;
  destinationAddr: string;
  dataCoding: number;
  text: string;
}

export interface ReceiptUpdate {
  /** The row the receipt was for. */
  id: number;
  queueId: string;
  recipient: string;
  part: number;
  /** The recipient's state after this receipt (unchanged when the receipt decided nothing). */
  state: SmsState;
}

/** What the provider's rules made of one recipient's row at acceptance; `id` is the stored row's. */
export type AcceptOutcome =
  | { kind: 'queued'; id: number }
  | { kind: 'duplicate'; ageMs: number; dropped: boolean }
  | { kind: 'retransmission'; queueId: string; smsCount: number; coding: SmsRow['coding'] }
  | { kind: 'flood' };

/**
 * What the daemon needs from durable storage, asynchronously: the configured store (SQLite or PostgreSQL, opened
 * by spool/open.ts) runs on the work thread behind this interface. Every write has committed when its promise
 * resolves.
 */
