/**
 * The plain fast path (src/mail/plain.ts) must read a mail exactly as mailparser does: both run over a matrix of
 * header, charset, transfer-encoding, line-ending and body shapes (and the real-world samples), and every mail
 * the fast path takes must come out the same. The mails it must leave to mailparser are checked to be left.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { encode as qpEncode } from 'libqp';
import { describe, expect, it } from 'vitest';
import { readPlain, readWithMailparser } from '../../src/mail/parse.js';
import { PLAIN_MAX_BYTES } from '../../src/mail/plain.js';
import { sample, SAMPLES_DIR } from '../helpers/samples.js';
import { MAIL_OPTIONS } from '../helpers/options.js';

const opts = MAIL_OPTIONS;

const subjects = [
  undefined,
  '',
  'Disk full on db1',
  '  spaced  ',
  '=?UTF-8?B?0J/RgNC+0LHQu9C10LzQsA==?= on web3',
  '=?utf-8?Q?caf=C3=A9_=E2=80=93_ok?=',
  'folded\r\n  over two lines',
  '=?bogus-charset?Q?x?=',
  '=?UTF-8?B?broken',
];
const messageIds = [undefined, '<a1@example.org>', 'bare@example.org', '', '=?utf-8?Q?x?=@y'];
const senders = [[], ['Alerts'], ['  Alerts  '], ['A', 'B'], ['']];
const contentTypes = [
  undefined,
  'text/plain',
  'TEXT/PLAIN; charset="UTF-8"',
  'text/plain; charset=us-ascii',
  'text/plain (the body); charset=utf-8',
  'text/plain; charset=utf8',
  'text/plain; charset=windows-1252',
  'text/plain; charset=ISO-8859-1',
  'text/plain; charset=koi8-r',
  'text/plain; charset=windows-1251',
  'text/plain; charset=iso-8859-5',
  'text/plain; charset=latin1',
  'text/plain; charset=shift_jis',
  'text/plain; charset=iso-2022-jp',
  'text/plain; charset=utf-16',
  'text/plain; charset=utf-7',
];
const bodies = [
  'hello',
  'line one\r\nline two\r\n\r\n-- \r\nsignature\r\n',
  'Привет – “quotes” ’ … €\r\n',
  'with ~~~\r\ncomment here\r\n',
  '',
  '\r\n\r\n  \r\n',
  'a very long line '.repeat(40),
  'tab\there = sign == and =3D literal\r\n',
  'raw bad utf-8: \xff\xfe end',
];

/** The text in the charset its Content-Type declares, as a sender would write it (UTF-8 when iconv cannot). */
function inCharset(text: string, contentType: string | undefined): Buffer {
  const charset = /charset="?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  if (!charset || !iconv.encodingExists(charset)) return Buffer.from(text, 'utf8');
  return iconv.encode(text, charset);
}

function b64Lines(buf: Buffer): string {
  return (buf.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

const encodings: Array<[string | undefined, (b: Buffer) => string]> = [
  [undefined, (b) => b.toString('latin1')],
  ['7bit', (b) => b.toString('latin1')],
  ['8bit', (b) => b.toString('latin1')],
  ['quoted-printable', (b) => qpEncode(b)],
  ['Quoted-Printable', (b) => qpEncode(b)],
  ['base64', b64Lines],
  ['BASE64', (b) => b.toString('base64')],
  // Malformed transfer encodings: whatever mailparser makes of them, so must the fast path.
  ['quoted-printable', (b) => `${b.toString('latin1')}=ZZ=\r\n=4`],
  ['base64', (b) => `${b64Lines(b)}\r\n!!junk==more`],
];

interface Shape {
  subject?: string;
  messageId?: string;
  senders: string[];
  contentType?: string;
  encoding?: string;
  body: Buffer;
  encode: (b: Buffer) => string;
  eol: '\r\n' | '\n';
}

function build(s: Shape): Buffer {
  const head = ['From: Monitor <monitor@example.org>', 'To: 79991234567@sms.example.test'];
  if (s.subject !== undefined) head.push(`Subject: ${s.subject}`);
  if (s.messageId !== undefined) head.push(`Message-ID: ${s.messageId}`);
  for (const v of s.senders) head.push(`X-SMS-Sender: ${v}`);
  if (s.contentType !== undefined) head.push(`Content-Type: ${s.contentType}`);
  if (s.encoding !== undefined) head.push(`Content-Transfer-Encoding: ${s.encoding}`);
  const text = `${head.join('\r\n')}\r\n\r\n${s.encode(s.body)}`;
  return Buffer.from(s.eol === '\n' ? text.replace(/\r\n/g, '\n') : text, 'latin1');
}

/** A deterministic walk through the matrix: every value of every axis appears many times, in varied company. */
function* shapes(): Generator<Shape> {
  let n = 0;
  for (const [encoding, encode] of encodings) {
    for (const rawBody of bodies) {
      for (const contentType of contentTypes) {
        n++;
        yield {
          subject: subjects[n % subjects.length],
          messageId: messageIds[n % messageIds.length],
          senders: senders[n % senders.length] as string[],
          contentType,
          encoding,
          body: rawBody.startsWith('raw bad') ? Buffer.from(rawBody, 'latin1') : inCharset(rawBody, contentType),
          encode,
          eol: n % 3 === 0 ? '\n' : '\r\n',
        };
      }
    }
  }
}

describe('plain fast path reads mail as mailparser does', () => {
  it('the whole matrix: same text, subject, Message-ID and X-SMS-Sender', async () => {
    let taken = 0;
    let total = 0;
    for (const shape of shapes()) {
      total++;
      const raw = build(shape);
      const fast = readPlain(raw, opts.defaultCharset);
      if (!fast) continue;
      taken++;
      expect(fast, raw.toString('latin1')).toEqual(await readWithMailparser(raw, opts));
    }
    // Every shape in the matrix is one the fast path is meant to take, except a charset iconv does not know
    // (ISO-2022-JP), which sends the mail through the pre-pass and so to mailparser.
    expect(total).toBe(encodings.length * bodies.length * contentTypes.length);
    const unknown = contentTypes.filter(
      (t) => t?.includes('charset') && !iconv.encodingExists(/charset="?([^";\s]+)/i.exec(t)![1]!),
    ).length;
    expect(unknown).toBe(1);
    expect(taken).toBe(total - unknown * encodings.length * bodies.length);
  });

  it('leaves to mailparser what it does not read itself', () => {
    const plain = (head: string) => Buffer.from(`Subject: x\r\n${head}\r\n\r\nbody`);
    for (const head of [
      'Content-Type: text/html; charset=utf-8',
      'Content-Type: multipart/alternative; boundary=b',
      'Content-Type: text/plain; charset=x-no-such-charset',
      'Content-Type: text/plain; charset=utf-8; format=flowed',
      'Content-Type: text/plain; name=a.txt',
      'Content-Type: text/plain\r\nContent-Type: text/html',
      'Content-Disposition: attachment; filename=a.txt',
      'Content-Disposition: inline; filename=a.txt',
      'Content-Transfer-Encoding: x-uuencode',
      'Content-Transfer-Encoding: "base64"',
    ]) {
      expect(readPlain(plain(head), 'utf-8'), head).toBeUndefined();
    }
    // A default charset other than UTF-8, or 8-bit bytes in the headers: the pre-pass runs, so mailparser does.
    expect(readPlain(plain('X-A: b'), 'koi8-r')).toBeUndefined();
    expect(readPlain(Buffer.from('Subject: \xf0\xd2\xc9\r\n\r\nbody', 'latin1'), 'utf-8')).toBeUndefined();
    // No header block end, an mbox From line, an empty first line.
    expect(readPlain(Buffer.from('Subject: x'), 'utf-8')).toBeUndefined();
    expect(
      readPlain(Buffer.from('From a@b Mon Nov 23 00:00:00 2026\r\nSubject: x\r\n\r\nbody'), 'utf-8'),
    ).toBeUndefined();
    expect(readPlain(Buffer.from('\r\nbody'), 'utf-8')).toBeUndefined();
    // Large mail: mailparser, which yields to the event loop between steps.
    const big = Buffer.from(`Subject: x\r\n\r\n${'y'.repeat(PLAIN_MAX_BYTES)}`);
    expect(readPlain(big, 'utf-8')).toBeUndefined();
    expect(readPlain(big.subarray(0, PLAIN_MAX_BYTES), 'utf-8')?.text).toBe(
      'y'.repeat(PLAIN_MAX_BYTES - 'Subject: x\r\n\r\n'.length),
    );
  });

  it('real-world samples: the ones it takes come out the same', async () => {
    let taken = 0;
    for (const name of readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.eml'))) {
      const raw = sample(name);
      const fast = readPlain(raw, opts.defaultCharset);
      if (!fast) continue;
      taken++;
      expect(fast, name).toEqual(await readWithMailparser(raw, opts));
    }
    // Nagios, cron, the comment section, Zabbix (base64) and the KOI8-R sender (with its charset) are plain text.
    expect(taken).toBeGreaterThanOrEqual(2);
  });
});

describe('plain fast path against mailparser on random mail', () => {
  const headerLine = fc.oneof(
    fc.constantFrom(
      'Subject: Disk full',
      'Subject:',
      'Subject: =?UTF-8?B?0J/RgNC+0LHQu9C10LzQsA==?=',
      'Subject: =?utf-8?Q?a_b?= c',
      'Subject: a\r\n b',
      'subject: lower',
      'SUBJECT: upper',
      'Message-ID: <x@y>',
      'Message-Id: x@y',
      'Message-ID:',
      'X-SMS-Sender: Alerts',
      'X-SMS-Sender:',
      'Content-Type: text/plain',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Type: text/plain; charset="us-ascii"',
      'Content-Type: text/plain;\r\n charset=utf-8',
      'Content-Type: text/html',
      'Content-Type: text/plain; format=flowed',
      'Content-Type: text/plain; charset=koi8-r',
      'Content-Type: text/plain; charset=windows-1252',
      'Content-Type: text/plain; charset=utf-16',
      'Content-Type: text/plain; charset=shift_jis',
      'Content-Type: text/plain; charset=utf-7',
      'Content-Type: text/plain; charset=',
      'Content-Transfer-Encoding: base64',
      'Content-Transfer-Encoding: quoted-printable',
      'Content-Transfer-Encoding: 8bit',
      'Content-Transfer-Encoding: 7BIT',
      'Content-Transfer-Encoding: weird',
      'Content-Disposition: inline',
      'From: A <a@b>',
      'To: 79991234567@sms.example.test',
      'Received: from x\r\n\tby y',
      ' continuation at the start',
      'no colon here',
      ': empty name',
      'X-Empty:',
      'Subject: trailing   ',
      'Subject: \t tabbed',
      'Subject: bare\rcr',
      'X-A: b\r',
    ),
    fc.string({ unit: fc.constantFrom('a', 'b', ':', ' ', '=', '?', '-', 'Z'), maxLength: 20 }).map((s) => `X-${s}`),
  );
  const bodyUnit = fc.constantFrom(
    'a',
    'Z',
    ' ',
    '=',
    '\r\n',
    '\n',
    '\r',
    '=\r\n',
    '=3D',
    '=C3=A9',
    'é',
    '–',
    '€',
    '\t',
    '.',
    '~~~',
    '-- ',
    '>',
    'QUJD',
    '==',
    '\r\r\n',
    '\x00',
  );
  const mail = fc.record({
    headers: fc.array(headerLine, { maxLength: 8 }),
    body: fc.array(bodyUnit, { maxLength: 60 }).map((u) => u.join('')),
    eol: fc.constantFrom('\r\n', '\n'),
    // Written as Latin-1 bytes, é and friends are invalid UTF-8: both readers must make the same of them.
    bytes: fc.constantFrom<BufferEncoding>('utf8', 'latin1'),
  });

  it('any mail the fast path takes comes out as mailparser reads it', async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(mail, async ({ headers, body, eol, bytes }) => {
        const text = `${headers.join('\r\n')}\r\n\r\n${body}`;
        const raw = Buffer.from(eol === '\n' ? text.replace(/\r\n/g, '\n') : text, bytes);
        const fast = readPlain(raw, 'utf-8');
        if (!fast) return;
        taken++;
        expect(fast).toEqual(await readWithMailparser(raw, opts));
      }),
      { numRuns: 1500, seed: 4711 },
    );
    expect(taken).toBeGreaterThan(300);
  });
});
