/**
 * An sms row's columns → SmsRow, for every backend: SQLite returns numbers and JSON as text, PostgreSQL returns
 * bigints as strings and jsonb as values. Each backend keeps its own exact row type; both fit this one.
 */
import type { SmsRow, SmsState } from './types.js';

export interface SmsColumns {
  id: number | string;
  queue_id: string;
  recipient: string;
  state: SmsState;
  reason: string | null;
  source_addr: string;
  source_ton: number;
  source_npi: number;
  text: string;
  comment: string;
  coding: SmsRow['coding'];
  data_coding: number;
  sms_count: number;
  truncated: number | boolean;
  parts: string | SmsRow['parts'];
  message_id: string | null;
  smtp_user: string | null;
  mail_from: string | null;
  client_ip: string | null;
  fingerprint: string;
  attempts: number;
  created_at: number | string;
  updated_at: number | string;
  next_attempt_at: number | string;
  first_submit_at: number | string | null;
  smsc_ids: string | SmsRow['smscIds'];
  receipts: string | SmsRow['receipts'];
  receipt_facts: string | SmsRow['receiptFacts'];
}

const json = <T>(v: string | T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export function rowFromColumns(r: SmsColumns): SmsRow {
  return {
    id: Number(r.id),
    queueId: r.queue_id,
    recipient: r.recipient,
    state: r.state,
    reason: r.reason,
    sourceAddr: r.source_addr,
    sourceTon: r.source_ton,
    sourceNpi: r.source_npi,
    text: r.text,
    comment: r.comment,
    coding: r.coding,
    dataCoding: r.data_coding,
    smsCount: r.sms_count,
    truncated: r.truncated === true || r.truncated === 1,
    parts: json(r.parts),
    messageId: r.message_id,
    smtpUser: r.smtp_user,
    mailFrom: r.mail_from,
    clientIp: r.client_ip,
    fingerprint: r.fingerprint,
    attempts: r.attempts,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    nextAttemptAt: Number(r.next_attempt_at),
    firstSubmitAt: r.first_submit_at === null ? null : Number(r.first_submit_at),
    smscIds: json(r.smsc_ids),
    receipts: json(r.receipts),
    receiptFacts: json(r.receipt_facts),
  };
}
