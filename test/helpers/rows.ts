/** Spool rows for tests: what the SMTP stage hands the spool for one recipient. */
import type { NewSms } from '../../src/spool/types.js';

/** A one-part GSM SMS to `recipient` (its body the text's bytes), queued; every field can be overridden. */
export function newSms(recipient: string, over: Partial<NewSms> = {}): NewSms {
  const text = over.text ?? 't';
  return {
    queueId: `q${recipient}`,
    recipient,
    sourceAddr: '',
    sourceTon: 0,
    sourceNpi: 0,
    text,
    comment: '',
    coding: 'gsm7',
    dataCoding: 0,
    smsCount: 1,
    truncated: false,
    parts: [{ udh: '', body: Buffer.from(text, 'latin1').toString('hex'), units: text.length, payload: false }],
    messageId: null,
    smtpUser: null,
    mailFrom: null,
    clientIp: null,
    fingerprint: `${recipient}|${text}`,
    state: 'queued',
    reason: null,
    ...over,
  };
}
