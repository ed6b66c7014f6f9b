/**
 * What an outbox row carries: the facts a report or a reply mail is built from, taken from the spool in the
 * transaction that made the row, so the row stays sendable after the SMS row it is about has been pruned.
 */
import type { ReportAction } from '../delivery/dsn.js';

export interface ReportFacts {
  kind: 'report';
  action: ReportAction;
  status: string;
  diagnostic: string | null;
  /** The sender the report goes to (MAIL FROM of the original). */
  to: string;
  /** RCPT TO as the client wrote it, and ORCPT when given (e.g. "rfc822;+4915…@sms.example"). */
  rcptAddress: string;
  orcpt: string | null;
  recipient: string;
  queueId: string;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  messageId: string | null;
  subject: string | null;
  /** The SMS text (the report quotes its first words). */
  text: string;
  smsCount: number;
  /** ms since the epoch. */
  acceptedAt: number;
  submittedAt: number | null;
  finalAt: number;
  /** stat and err when a receipt settled it. */
  stat: string | null;
  err: string | null;
  /** The original's header block (text/rfc822-headers), and its whole raw bytes (base64) with RET=FULL. */
  headers: string;
  rawBase64: string | null;
}

export interface ReplyFacts {
  kind: 'reply';
  to: string;
  /** <phone>@<sms-domain>: answering the mail sends an SMS back. */
  from: string;
  phone: string;
  text: string;
  receivedAt: number;
  /** The SMS it answers, when matched (null: unmatched, going to replies.default_to). */
  original: { queueId: string; messageId: string | null; subject: string | null; text: string; sentAt: number } | null;
}

export type OutboxFacts = ReportFacts | ReplyFacts;

/** An outbox row as the sender sees it. */
export interface OutboxRow {
  id: number;
  facts: OutboxFacts;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  state: 'pending' | 'sent' | 'dropped';
  lastError: string | null;
}
