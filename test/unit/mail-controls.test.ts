/**
 * Control characters never reach the phone: not from the body (as before) and not from the subject, whichever
 * reader (plain fast path or mailparser) and whichever header form (raw, RFC 2047) carried them.
 */
import { describe, expect, it } from 'vitest';
import { cleanSubject } from '../../src/mail/clean.js';
import { parseMail } from '../../src/mail/parse.js';
import { prepareSms } from '../../src/sms/prepare.js';
import { MAIL_OPTIONS, SMS_OPTIONS } from '../helpers/options.js';

const mailOpts = MAIL_OPTIONS;
const smsOpts = SMS_OPTIONS;

async function sms(raw: string) {
  const content = await parseMail(Buffer.from(raw, 'latin1'), mailOpts);
  return { content, sms: prepareSms(content.text, smsOpts) };
}

describe('control characters', () => {
  it.each([
    ['raw NUL (plain reader)', 'Subject: disk\0 full\r\n\r\nd\0b1\r\n'],
    [
      'raw NUL (mailparser)',
      'Subject: disk\0 full\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nd\0b1\r\n--q--\r\n',
    ],
    ['encoded-word NUL', 'Subject: =?UTF-8?B?ZGlzawAgZnVsbA==?=\r\n\r\nd\0b1\r\n'],
    ['encoded-word BEL, ESC, DEL, C1', 'Subject: =?UTF-8?Q?disk=07=1B=7F=C2=85_full?=\r\n\r\ndb\x071\r\n'],
  ])('are removed from subject and body: %s', async (_name, raw) => {
    const { content, sms: out } = await sms(raw);
    expect(content.subject).toBe('disk full');
    expect(out.text).toBe('disk full\ndb1');
    expect(out.coding).toBe('gsm7');
  });

  it('a tab or line break in the subject is a space; in the body a tab is a space and a newline stays', async () => {
    const { sms: out } = await sms('Subject: =?UTF-8?Q?disk=09full=0Anow?=\r\n\r\na\tb\r\nc\r\n');
    expect(out.text).toBe('disk full now\na b\nc');
  });

  it('cleanSubject keeps text and collapses what the controls leave', () => {
    expect(cleanSubject(' \0a\u0001 \u009b b\r\n c ')).toBe('a b c');
    expect(cleanSubject('Котельная\0 N3')).toBe('Котельная N3');
  });
});
