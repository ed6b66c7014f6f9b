/**
 * Which report a recipient's row calls for now, from the facts a backend read in its transaction: the same rule
 * for every backend. A row is reported once when final (or relayed), and may get one `delayed` report before.
 */
import {
  delayedFor,
  mayReportTo,
  parseNotify,
  RELAYED,
  reportFor,
  receiptOf,
  wantsReport,
  type NotifyKind,
} from '../delivery/dsn.js';
import type { ReportFacts } from './facts.js';

/** A recipient row with its DSN facts, as a backend reads it. */
export interface DsnCandidate {
  id: number;
  queueId: string;
  recipient: string;
  state: string;
  reason: string | null;
  text: string;
  smsCount: number;
  messageId: string | null;
  mailFrom: string | null;
  createdAt: number;
  updatedAt: number;
  firstSubmitAt: number | null;
  notify: string | null;
  orcpt: string | null;
  rcptAddress: string;
  /** 'pending' (nothing sent yet) or 'delayed' (the delay report went out). */
  reportState: string;
  envid: string | null;
  ret: string | null;
  subject: string | null;
  autoSubmitted: string | null;
  headers: string | null;
  rawBase64: string | null;
}

export interface ReportRules {
  defaultNotify: readonly NotifyKind[];
  delayAfterMs: number;
  relayedAfterMs: number;
  /** smpp.registered_delivery: without receipts a submitted SMS is relayed at once. */
  receiptsRequested: boolean;
}

export type ReportPlan =
  /** Make this report; the row's report state becomes `next` ('done' after a final or relayed one). */
  | { kind: 'report'; facts: ReportFacts; next: 'done' | 'delayed' }
  /** Nothing to send for this step: the report state becomes `next` (not asked for, or nothing to report). */
  | { kind: 'skip'; next: 'done' | 'delayed' }
  /** Nothing yet. */
  | { kind: 'wait' };

export function planReport(c: DsnCandidate, rules: ReportRules, now: number): ReportPlan {
  if (!mayReportTo(c.mailFrom, c.autoSubmitted)) return { kind: 'skip', next: 'done' };
  const notify = parseNotify(c.notify);
  const final = reportFor(c.state, c.reason);
  let decision = final;
  let next: 'done' | 'delayed' = 'done';
  if (!decision && c.state === 'submitted' && c.firstSubmitAt !== null) {
    const due = rules.receiptsRequested ? c.firstSubmitAt + rules.relayedAfterMs : c.firstSubmitAt;
    if (now < due) return { kind: 'wait' };
    decision = RELAYED;
  }
  if (!decision && (c.state === 'queued' || c.state === 'sending')) {
    if (c.reportState !== 'pending' || now < c.createdAt + rules.delayAfterMs) return { kind: 'wait' };
    decision = delayedFor(c.reason);
    next = 'delayed';
  }
  if (!decision) return c.state === 'refused' ? { kind: 'skip', next: 'done' } : { kind: 'wait' };
  if (!wantsReport(decision.action, notify, rules.defaultNotify)) return { kind: 'skip', next };
  const receipt = final ? receiptOf(c.reason) : undefined;
  const ret = c.ret === 'FULL' || c.ret === 'HDRS' ? c.ret : null;
  return {
    kind: 'report',
    next,
    facts: {
      kind: 'report',
      action: decision.action,
      status: decision.status,
      diagnostic: decision.diagnostic,
      to: c.mailFrom as string,
      rcptAddress: c.rcptAddress,
      orcpt: c.orcpt,
      recipient: c.recipient,
      queueId: c.queueId,
      envid: c.envid,
      ret,
      messageId: c.messageId,
      subject: c.subject,
      text: c.text,
      smsCount: c.smsCount,
      acceptedAt: c.createdAt,
      submittedAt: c.firstSubmitAt,
      finalAt: decision.action === 'delayed' || decision.action === 'relayed' ? now : c.updatedAt,
      stat: receipt?.stat ?? null,
      err: receipt?.err ?? null,
      headers: c.headers ?? '',
      rawBase64: ret === 'FULL' ? c.rawBase64 : null,
    },
  };
}
