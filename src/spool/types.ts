/**
 * The spool's interface: what the SMTP stage, the relay and the policy need from durable storage. SQLite
 * implements it now; a PostgreSQL store (several nodes, one queue) can implement the same.
 */
import type { Coding } from '../sms/encode.js';
import type { SarInfo } from '../sms/segment.js';

export type SmsState =
  | 'queued'
  | 'sending'
  | 'submitted'
  | 'delivered'
  | 'undeliverable'
  | 'failed'
  | 'expired'
  | 'refused';

export const FINAL_STATES: readonly SmsState[] = ['delivered', 'undeliverable', 'failed', 'expired', 'refused'];

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
  /** 'queued', or 'refused' for a recipient the policy refused after DATA (kept for the record). */
  state: 'queued' | 'refused';
  reason: string | null;
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
  firstSubmitAt: number | null;
}

export class SpoolError extends Error {
  readonly responseCode = 451;
  readonly enhanced = '4.3.0';
  constructor(override readonly cause: unknown) {
    super(`spool write failed: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'SpoolError';
  }
}
