/**
 * Hostile and broken input: every mail gets a clear SMTP reply (a code and an enhanced code), nothing crashes,
 * and a well-behaved client is served throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { RawSmtp, sendMail, type SmtpReply } from '../helpers/smtp-client.js';

const TO = '+79991234567@sms.example.test';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function nested(depth: number): string {
  let open = 'Subject: deep\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n';
  let close = '';
  for (let i = 1; i < depth; i++) {
    open += `--b${i - 1}\r\nContent-Type: multipart/mixed; boundary="b${i}"\r\n\r\n`;
    close = `--b${i - 1}--\r\n${close}`;
  }
  return `${open}--b${depth - 1}\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n--b${depth - 1}--\r\n${close}`;
}

/** Each template: a generator of a raw mail, and the replies it may get. */
const TEMPLATES: Array<{ name: string; weight: number; make: (r: () => number) => Buffer; expect: RegExp }> = [
  {
    name: 'missing boundary',
    weight: 10,
    expect: /^(250|550) /,
    make: () =>
      Buffer.from(
        'Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--zz\r\nContent-Type: ' +
          'text/plain\r\n\r\nhello\r\n--zz--\r\n',
      ),
  },
  {
    name: 'nested 1000 deep',
    weight: 2,
    expect: /^550 5\.6\.0 Malformed message: (MIME parts nested|too many MIME parts)/,
    make: () => Buffer.from(nested(1000)),
  },
  {
    name: 'NUL bytes',
    weight: 10,
    expect: /^250 /,
    make: (r) => Buffer.from(`Subject: nul\r\n\r\nab\0cd\0${'\0'.repeat(Math.floor(r() * 50))}ef\r\n`, 'latin1'),
  },
  {
    name: '8-bit garbage',
    weight: 15,
    expect: /^(250|550 5\.6\.0) /,
    make: (r) =>
      Buffer.concat([
        Buffer.from('Subject: g\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'),
        Buffer.from(Array.from({ length: 200 }, () => 0x80 + Math.floor(r() * 128))),
        Buffer.from('\r\n'),
      ]),
  },
  {
    name: '200 kB header line',
    weight: 3,
    expect: /^(250|550|554) /,
    make: () => Buffer.from(`Subject: long\r\nX-Long: ${'a'.repeat(200_000)}\r\n\r\nbody\r\n`),
  },
  {
    name: '1 MB single-line body',
    weight: 1,
    expect: /^250 .*text cut to fit/,
    make: () => Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(1_000_000)}\r\n`),
  },
  {
    name: 'invalid base64',
    weight: 10,
    expect: /^(250|550 5\.6\.0) /,
    make: () =>
      Buffer.from(
        'Subject: b64\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ' +
          'base64\r\n\r\n!!!*** not base64 ###$$$\r\n====\r\n',
      ),
  },
  {
    name: 'unknown charset',
    weight: 10,
    expect: /^550 5\.6\.0 Unknown charset "x-klingon"/,
    make: () => Buffer.from('Subject: cs\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla\r\n'),
  },
  {
    name: 'broken quoted-printable',
    weight: 10,
    expect: /^250 /,
    make: () =>
      Buffer.from(
        'Subject: qp\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ' +
          'quoted-printable\r\n\r\nbad =ZZ escape =\r\nend=\r\n',
      ),
  },
  {
    name: 'unterminated parameters',
    weight: 10,
    expect: /^(250|550) /,
    make: () => Buffer.from('Subject: p\r\nContent-Type: text/plain; charset="utf-8; format=\r\n\r\nbody\r\n'),
  },
  {
    name: 'headers only',
    weight: 10,
    expect: /^(250|550 5\.6\.0) /,
    make: () => Buffer.from('Subject: only headers\r\nX-A: b\r\n'),
  },
  { name: 'empty', weight: 5, expect: /^550 5\.6\.0 /, make: () => Buffer.alloc(0) },
  {
    name: 'bare LF and CR',
    weight: 10,
    expect: /^250 /,
    make: () => Buffer.from('Subject: lf\nX-A: 1\n\nline1\nline2\rline3\n'),
  },
  {
    name: '1000 sibling parts',
    weight: 2,
    expect: /^550 5\.6\.0 Malformed message: too many MIME parts$/,
    make: () =>
      Buffer.from(
        `Subject: many\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n${Array.from({ length: 1000 }, (_, i) => `--q\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('')}--q--\r\n`,
      ),
  },
  {
    name: 'encoded-word garbage subject',
    weight: 10,
    expect: /^(250|550 5\.6\.0) /,
    make: (r) =>
      Buffer.from(`Subject: =?utf-8?B?${'%%'.repeat(Math.floor(r() * 100))}?= =?x-bad?Q?=FF?=\r\n\r\nbody\r\n`),
  },
  {
    name: 'HTML bomb of tags',
    weight: 2,
    expect: /^250 .*Queued/,
    make: () =>
      Buffer.from(
        `Subject: html\r\nContent-Type: text/html\r\n\r\n${'<div>'.repeat(20_000)}hi${'</div>'.repeat(20_000)}\r\n`,
      ),
  },
];

function buildBatch(n: number, seed: number) {
  const r = rng(seed);
  const total = TEMPLATES.reduce((a, t) => a + t.weight, 0);
  return Array.from({ length: n }, (_, i) => {
    // Every template at least once, then by weight.
    const t =
      i < TEMPLATES.length
        ? TEMPLATES[i]!
        : (() => {
            let x = r() * total;
            return (
              TEMPLATES.find((tp) => {
                x -= tp.weight;
                return x < 0;
              }) ?? TEMPLATES[0]!
            );
          })();
    return { template: t, raw: t.make(r) };
  });
}

async function sendMany(port: number, mails: Array<{ raw: Buffer }>): Promise<SmtpReply[]> {
  const { client } = await RawSmtp.connect(port);
  const replies: SmtpReply[] = [];
  await client.cmd('EHLO hostile.example');
  for (const m of mails) {
    await client.cmd('MAIL FROM:<fuzz@example.org>');
    await client.cmd(`RCPT TO:<${TO}>`);
    const { start, end } = await client.data(m.raw);
    replies.push(start.code === 354 ? end[0]! : start);
  }
  await client.cmd('QUIT');
  client.close();
  return replies;
}

describe('hostile input', () => {
  let h: Harness;
  beforeAll(async () => {
    // The provider rules would refuse the repeated mails to one number: this test is about parsing only.
    h = await startHarness({
      smtp: { max_clients: 20 },
      policy: { duplicate_window_s: 0, flood_max: 0, retransmit_window_s: 0 },
    });
  });
  afterAll(() => h.stop());

  it('1000 generated broken mails over 8 connections: each gets its clear reply, a normal client is served meanwhile', async () => {
    const batch = buildBatch(1000, 4711);
    const lanes = Array.from({ length: 8 }, (_, lane) => batch.filter((_m, i) => i % 8 === lane));
    let normalOk = 0;
    let stop = false;
    const normal = (async () => {
      while (!stop) {
        const r = await sendMail(h.port, { to: [TO], body: 'Subject: heartbeat\r\n\r\nstill here\r\n' });
        if (r.data[0]?.code === 250) normalOk++;
      }
    })();
    const results = await Promise.all(lanes.map((lane) => sendMany(h.port, lane)));
    stop = true;
    await normal;

    const wrong: string[] = [];
    lanes.forEach((lane, l) => {
      lane.forEach((m, i) => {
        const reply = results[l]![i]!;
        const line = `${reply.code} ${reply.text}`;
        if (!/^[245]\d\d [245]\.\d{1,3}\.\d{1,3} \S/.test(line) || !m.template.expect.test(line))
          wrong.push(`${m.template.name}: ${line}`);
      });
    });
    expect(wrong).toEqual([]);
    expect(results.flat()).toHaveLength(1000);
    expect(normalOk).toBeGreaterThan(0);
    // And the server still works afterwards.
    expect((await sendMail(h.port, { to: [TO], body: 'Subject: after\r\n\r\nok\r\n' })).data[0]!.code).toBe(250);
  }, 240_000);
});
