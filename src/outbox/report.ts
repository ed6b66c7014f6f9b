/**
 * A delivery status notification (RFC 3464) as MIME: multipart/report; report-type=delivery-status with a text a
 * person understands, the machine-readable message/delivery-status, and the original's headers (or the whole
 * original with RET=FULL). Built with nodemailer's MIME builder, as ZoneMTA builds its bounces.
 */
import MimeNode from 'nodemailer/lib/mime-node';
import { describeReceipt, diagnosticText } from '../delivery/dsn.js';
import type { ReportFacts } from './facts.js';

export interface ReportSettings {
  /** Reporting-MTA and the Message-ID's domain: smtp.name. */
  reportingMta: string;
  /** From of the report: outbound.from. */
  from: string;
}

const SUBJECTS: Record<ReportFacts['action'], string> = {
  delivered: 'SMS delivered',
  failed: 'SMS not delivered',
  delayed: 'SMS delayed',
  relayed: 'SMS handed to the SMS center',
};

/** RFC 5322 date (the DSN fields use it too). */
export const mailDate = (ms: number) => new Date(ms).toUTCString().replace(/GMT$/, '+0000');

export function firstWords(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1).replace(/\s+\S*$/, '')}…`;
}

function humanText(f: ReportFacts): string {
  const lines: string[] = [];
  const who = `+${f.recipient}`;
  switch (f.action) {
    case 'delivered':
      lines.push(`Your SMS to ${who} was delivered to the phone.`);
      break;
    case 'failed':
      lines.push(`Your SMS to ${who} could not be delivered. This is final: it will not be tried again.`);
      break;
    case 'delayed':
      lines.push(`Your SMS to ${who} has not been handed to the SMS center yet. It is still being tried;`);
      lines.push('you will hear again only if it fails.');
      break;
    case 'relayed':
      lines.push(`Your SMS to ${who} was accepted by the SMS center, which has not confirmed delivery to the phone`);
      lines.push('(it may never do so). No further report will follow.');
      break;
  }
  lines.push('', `  Text:      "${firstWords(f.text)}"`, `  Parts:     ${f.smsCount}`, `  Queue id:  ${f.queueId}`);
  lines.push(`  Accepted:  ${mailDate(f.acceptedAt)}`);
  if (f.submittedAt !== null) lines.push(`  Submitted: ${mailDate(f.submittedAt)}`);
  if (f.action !== 'delayed')
    lines.push(`  ${f.action === 'relayed' ? 'Reported' : 'Final'}:     ${mailDate(f.finalAt)}`);
  if (f.stat) lines.push(`  SMSC:      ${describeReceipt(f.stat, f.err ?? undefined)}`);
  else if (f.diagnostic && f.action === 'failed') lines.push(`  Reason:    ${diagnosticText(f.diagnostic)}`);
  if (f.subject) lines.push(`  Subject:   ${f.subject}`);
  return `${lines.join('\n')}\n`;
}

function deliveryStatus(f: ReportFacts, s: ReportSettings): string {
  const perMessage = [`Reporting-MTA: dns; ${s.reportingMta}`];
  if (f.envid) perMessage.push(`Original-Envelope-Id: ${f.envid}`);
  perMessage.push(`Arrival-Date: ${mailDate(f.acceptedAt)}`);
  const perRecipient = [`Final-Recipient: rfc822; ${f.rcptAddress}`];
  if (f.orcpt) perRecipient.push(`Original-Recipient: ${f.orcpt}`);
  perRecipient.push(`Action: ${f.action}`, `Status: ${f.status}`);
  if (f.diagnostic) perRecipient.push(`Diagnostic-Code: ${f.diagnostic}`);
  perRecipient.push(`Last-Attempt-Date: ${mailDate(f.finalAt)}`);
  if (f.action === 'delayed') perRecipient.push(`Will-Retry-Until: ${mailDate(f.finalAt)}`);
  return `${perMessage.join('\r\n')}\r\n\r\n${perRecipient.join('\r\n')}\r\n`;
}

/** The report's bytes; `now` is its Date. */
export async function buildReport(f: ReportFacts, s: ReportSettings, now: number): Promise<Buffer> {
  const root = new MimeNode('multipart/report; report-type=delivery-status');
  root.setHeader({
    From: s.from,
    To: f.to,
    Subject: `${SUBJECTS[f.action]}: +${f.recipient}${f.subject ? ` (${firstWords(f.subject, 50)})` : ''}`,
    Date: mailDate(now),
    'Auto-Submitted': 'auto-replied',
    'X-SMTP2SMS-Queue-Id': f.queueId,
  });
  root.setHeader('Message-ID', `<dsn-${f.queueId}-${f.recipient}-${f.action}@${s.reportingMta}>`);
  if (f.messageId) {
    const id = f.messageId.startsWith('<') ? f.messageId : `<${f.messageId}>`;
    root.setHeader('In-Reply-To', id);
    root.setHeader('References', id);
  }
  root.createChild('text/plain; charset=utf-8').setContent(humanText(f));
  root.createChild('message/delivery-status').setContent(deliveryStatus(f, s));
  if (f.ret === 'FULL' && f.rawBase64)
    root.createChild('message/rfc822').setContent(Buffer.from(f.rawBase64, 'base64'));
  else root.createChild('text/rfc822-headers').setContent(f.headers);
  return root.build();
}
