/** Mail in over real SMTP, rows out of the real spool: what gets stored and what the client is told. */
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBytes } from '../../src/sms/encode.js';
import type { SmsRow } from '../../src/spool/types.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { sample } from '../helpers/samples.js';
import { holdWriteLock } from '../helpers/spool-faults.js';
import { sendMail, type SmtpReply } from '../helpers/smtp-client.js';

const TO = '+79991234567@sms.example.test';

async function rowsFor(h: Harness, reply: SmtpReply): Promise<SmsRow[]> {
  const m = /Queued as ([0-9a-f]{12})/.exec(reply.text);
  if (!m) throw new Error(`not queued: ${reply.code} ${reply.text}`);
  return h.daemon.spool.byQueueId(m[1] as string);
}

const sentText = (row: SmsRow) =>
  row.parts.map((p) => decodeBytes(Buffer.from(p.body, 'hex'), row.dataCoding, {})).join('');

const mime = (headers: string, body: string | Buffer) =>
  Buffer.concat([
    Buffer.from(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n`, 'latin1'),
    Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'),
  ]);

describe('mail → spool over SMTP (default config)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it.each([
    [
      'cron-output.eml',
      'Cron <root@backup1> /usr/local/bin/nightly-backup\nrsync: write failed on "/mnt/backup/db1.tar": No ' +
        'space left on device (28)\nbackup FAILED after 312 s',
    ],
    ['gmail-reply-quoted.eml', 'Re: r1 BGP down\nYes, switching to the standby router now.'],
    ['iphone-with-attachment.eml', 'Door sensor in server room B triggered, checking camera.'],
    [
      'thunderbird-flowed-signature.eml',
      'import done\nThe nightly import finished with 3 warnings, see the log on import2 under /var/log/import. ' +
        'Nothing to do tonight.',
    ],
    [
      'outlook-reply-disclaimer.eml',
      "RE: payment service degraded\nPlease restart the payment service now - it's urgent.\n\nBest " +
        'regards,\nJohn Smith\nHead of Operations',
    ],
  ])('%s', async (file, expected) => {
    const r = await sendMail(h.port, { to: [TO], body: sample(file) });
    const [row] = await rowsFor(h, r.data[0]!);
    expect(row!.text).toBe(expected);
    expect(sentText(row!)).toBe(expected);
    expect(row!.state).toBe('queued');
  });

  it('the 250 names the queue id, recipients, parts and encoding; one row per distinct number', async () => {
    const body = `Subject: Авария\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${'Сервер недоступен. '.repeat(9)}\r\n`;
    const r = await sendMail(h.port, {
      to: [TO, '89991234567@sms.example.test', '+79991230002@sms.example.test'],
      body: Buffer.from(body, 'utf8'),
    });
    expect(r.data[0]!.code).toBe(250);
    expect(r.data[0]!.text).toMatch(/^2\.0\.0 Queued as [0-9a-f]{12}: 2 recipients × 3 parts \(UCS-2\)$/);
    const rows = await rowsFor(h, r.data[0]!);
    expect(rows.map((x) => x.recipient)).toEqual(['79991234567', '79991230002']);
    expect(rows[0]!.parts).toHaveLength(3);
    expect(rows[0]!.messageId).toBeNull();
    expect(rows[0]!.mailFrom).toBe('alerts@example.org');
    expect(rows[0]!.clientIp).toBe('127.0.0.1');
  });

  it.each([
    [
      'KOI8-R, quoted-printable, RFC 2047 subject in KOI8-R',
      mime(
        'Subject: =?koi8-r?Q?=F4=C5=D3=D4?=\nMIME-Version: 1.0\nContent-Type: text/plain; ' +
          'charset=koi8-r\nContent-Transfer-Encoding: quoted-printable',
        '=F0=D2=C9=D7=C5=D4 =CD=C9=D2\r\n',
      ),
      'Тест\nПривет мир',
    ],
    [
      'windows-1251, base64',
      mime(
        'Subject: =?windows-1251?B?0uXx8g==?=\nMIME-Version: 1.0\nContent-Type: text/plain; ' +
          'charset=windows-1251\nContent-Transfer-Encoding: base64',
        `${Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]).toString('base64')}\r\n`,
      ),
      'Тест\nПривет',
    ],
    [
      'ISO-8859-2, quoted-printable',
      mime(
        'Subject: =?iso-8859-2?Q?Zg=B3oszenie?=\nMIME-Version: 1.0\nContent-Type: text/plain; ' +
          'charset=iso-8859-2\nContent-Transfer-Encoding: quoted-printable',
        'Awaria serwera =B3=B1cza\r\n',
      ),
      'Zgłoszenie\nAwaria serwera łącza',
    ],
    [
      'ISO-8859-1, 8bit',
      mime(
        'Subject: Caf\xe9\nMIME-Version: 1.0\nContent-Type: text/plain; ' +
          'charset=iso-8859-1\nContent-Transfer-Encoding: 8bit',
        'Men\xfc: cr\xe8me\r\n',
      ),
      'Café\nMenü: crème',
    ],
    [
      'UTF-8 base64 with emoji',
      mime(
        'Subject: =?UTF-8?B?8J+aqCBhbGVydA==?=\nMIME-Version: 1.0\nContent-Type: text/plain; ' +
          'charset=utf-8\nContent-Transfer-Encoding: base64',
        `${Buffer.from('Сервер упал 🔥').toString('base64')}\r\n`,
      ),
      '🚨 alert\nСервер упал 🔥',
    ],
  ])('%s', async (_name, body, expected) => {
    const r = await sendMail(h.port, { to: [TO], body });
    const [row] = await rowsFor(h, r.data[0]!);
    expect(row!.text).toBe(expected);
  });

  it('multipart/alternative uses the plain part; HTML-only becomes clean text', async () => {
    const alt = mime(
      'Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b1"',
      '--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain version\r\n--b1\r\nContent-Type: ' +
        'text/html; charset=utf-8\r\n\r\n<p>html <b>version</b></p>\r\n--b1--\r\n',
    );
    expect((await rowsFor(h, (await sendMail(h.port, { to: [TO], body: alt })).data[0]!))[0]!.text).toBe(
      's\nplain version',
    );
    const html = mime(
      'Subject: s\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8',
      '<html><head><style>p{color:red}</style></head><body><p>Disk &amp; CPU &lt;high&gt;</p><p><a ' +
        'href="http://x.example/very/long">Details</a></p><script>x()</script></body></html>\r\n',
    );
    expect((await rowsFor(h, (await sendMail(h.port, { to: [TO], body: html })).data[0]!))[0]!.text).toBe(
      's\nDisk & CPU <high>\nDetails',
    );
  });

  it('comments are stored with the message and not sent (smpp.comments: strip)', async () => {
    const r = await sendMail(h.port, { to: [TO], body: sample('comment-section-ru.eml') });
    const [row] = await rowsFor(h, r.data[0]!);
    expect([row!.text, row!.comment, sentText(row!)]).toEqual([
      'Ваш код подтверждения: 4711',
      'заказ 2026-11-24-77, клиент Иванов',
      'Ваш код подтверждения: 4711',
    ]);
    expect(row!.messageId).toBe('<bill-2026-11-24-77@example.org>');
  });

  it('550 5.6.0 for a mail with no text', async () => {
    const r = await sendMail(h.port, { to: [TO], body: 'Subject: \r\n\r\n-- \r\nJohn\r\n' });
    expect([r.data[0]!.code, r.data[0]!.text]).toEqual([550, '5.6.0 No text to send: the message is empty']);
  });

  it('550 5.6.0 for KOI8-R bytes without a charset under the default utf-8, naming the fix', async () => {
    const r = await sendMail(h.port, { to: [TO], body: sample('legacy-koi8r-no-charset.eml') });
    expect(r.data[0]!.code).toBe(550);
    expect(r.data[0]!.text).toMatch(/^5\.6\.0 .*smtp\.default_charset/);
  });

  it('long text is cut to sms.max_parts (default truncate) and the reply says so', async () => {
    const r = await sendMail(h.port, { to: [TO], body: `Subject: log\r\n\r\n${'word '.repeat(400)}\r\n` });
    expect(r.data[0]!.text).toMatch(/× 6 parts \(GSM\); text cut to fit sms\.max_parts$/);
    expect((await rowsFor(h, r.data[0]!))[0]!.text.endsWith('word...')).toBe(true);
  });

  it('X-SMS-Sender needs an authenticated user allowed to use it', async () => {
    const r = await sendMail(h.port, { to: [TO], body: 'X-SMS-Sender: Bank\r\nSubject: x\r\n\r\nhi\r\n' });
    expect([r.data[0]!.code, r.data[0]!.text]).toEqual([
      550,
      '5.7.1 Sender "Bank" (X-SMS-Sender) needs an authenticated user allowed to use it',
    ]);
  });
});

describe('per-user senders, subject modes, comments for SMS Center, reject when too long', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      smtp: {
        subject: 'only',
        auth: {
          users: [
            { username: 'ops', password: 'pw', source_addr: 'OpsTeam', allowed_senders: ['Backup', '4242'] },
            { username: 'other', password: 'pw' },
          ],
        },
      },
      smpp: { source_addr: 'Default', comments: 'smsc', profile: 'smsc' },
      sms: { on_too_long: 'reject', max_parts: 2 },
    });
  });
  afterAll(() => h.stop());

  it('user source_addr, an allowed X-SMS-Sender, a refused one, the default', async () => {
    const body = (hdr: string) => `${hdr}Subject: s\r\n\r\nb\r\n`;
    const own = (
      await rowsFor(h, (await sendMail(h.port, { to: [TO], body: body(''), auth: ['ops', 'pw'] })).data[0]!)
    )[0]!;
    expect([own.sourceAddr, own.sourceTon, own.sourceNpi]).toEqual(['OpsTeam', 5, 0]);
    const asked = (
      await rowsFor(
        h,
        (
          await sendMail(h.port, { to: [TO], body: body('X-SMS-Sender: 4242\r\n'), auth: ['ops', 'pw'] })
        ).data[0]!,
      )
    )[0]!;
    expect([asked.sourceAddr, asked.sourceTon, asked.sourceNpi]).toEqual(['4242', 3, 0]);
    const refused = await sendMail(h.port, { to: [TO], body: body('X-SMS-Sender: Bank\r\n'), auth: ['ops', 'pw'] });
    expect(refused.data[0]!.text).toBe('5.7.1 Sender "Bank" (X-SMS-Sender) is not allowed for user "ops"');
    const dflt = (
      await rowsFor(h, (await sendMail(h.port, { to: [TO], body: body(''), auth: ['other', 'pw'] })).data[0]!)
    )[0]!;
    expect(dflt.sourceAddr).toBe('Default');
  });

  it('subject: only', async () => {
    const r = await sendMail(h.port, { to: [TO], body: sample('alertmanager-firing.eml') });
    expect((await rowsFor(h, r.data[0]!))[0]!.text).toBe('[FIRING:1] InstanceDown (web3:9100 node page)');
  });

  it('comments: smsc sends "\\n~~~\\n" + comment, parts counted on the visible text', async () => {
    const r = await sendMail(h.port, {
      to: [TO],
      body: 'Subject: Code 4711\r\n\r\nignored body\r\n~~~\r\norder 77\r\n',
    });
    expect(r.data[0]!.text).toMatch(/× 1 part \(GSM\)$/);
    const [row] = await rowsFor(h, r.data[0]!);
    expect([row!.text, row!.comment]).toEqual(['Code 4711', 'order 77']);
    expect(sentText(row!)).toBe('Code 4711\n~~~\norder 77');
  });

  it('550 5.3.4 naming the part count when over max_parts with reject', async () => {
    const r = await sendMail(h.port, { to: [TO], body: `Subject: ${'x'.repeat(400)}\r\n\r\nb\r\n` });
    expect([r.data[0]!.code, r.data[0]!.text]).toEqual([
      550,
      '5.3.4 Text too long: it needs 3 SMS parts (GSM), at most 2 are allowed',
    ]);
  });
});

describe('comment_prefix', () => {
  it('lines starting with the prefix are comments, stored and not sent', async () => {
    const h = await startHarness({ smtp: { comment_prefix: '#' } });
    const r = await sendMail(h.port, { to: [TO], body: 'Subject: Disk full\r\n\r\n#ticket INC-1\r\ndb1 /var 97%\r\n' });
    const [row] = await rowsFor(h, r.data[0]!);
    expect([row!.text, row!.comment, sentText(row!)]).toEqual([
      'Disk full\ndb1 /var 97%',
      'ticket INC-1',
      'Disk full\ndb1 /var 97%',
    ]);
    await h.stop();
  });
});

describe('default charset koi8-r', () => {
  it('a legacy sender with no MIME headers and a raw 8-bit KOI8-R subject', async () => {
    const h = await startHarness({ smtp: { default_charset: 'koi8-r' } });
    const raw = Buffer.concat([
      Buffer.from('Subject: '),
      Buffer.from([0xe1, 0xf7, 0xe1, 0xf2, 0xe9, 0xf1]),
      Buffer.from('\r\n\r\n'),
      sample('legacy-koi8r-no-charset.eml').subarray(sample('legacy-koi8r-no-charset.eml').indexOf('\r\n\r\n') + 4),
    ]);
    const r = await sendMail(h.port, { to: [TO], body: raw });
    expect((await rowsFor(h, r.data[0]!))[0]!.text).toBe('АВАРИЯ\nКотельная N3: давление 0.2 МПа ниже нормы');
    const sampleReply = await sendMail(h.port, { to: [TO], body: sample('legacy-koi8r-no-charset.eml') });
    expect((await rowsFor(h, sampleReply.data[0]!))[0]!.text).toBe('ALARM\nКотельная N3: давление 0.2 МПа ниже нормы');
    await h.stop();
  });
});

describe('LMTP', () => {
  it('one reply per recipient; invalid recipients answered at RCPT', async () => {
    const h = await startHarness({ smtp: { lmtp: true } });
    const r = await sendMail(h.port, {
      lmtp: true,
      to: [TO, 'bad@sms.example.test', '+79991230002@sms.example.test'],
      body: 'Subject: s\r\n\r\nb\r\n',
    });
    expect(r.rcpt.map((x) => x.code)).toEqual([250, 550, 250]);
    expect(r.data.map((x) => x.code)).toEqual([250, 250]);
    expect(r.data[0]!.text).toMatch(/^2\.0\.0 Queued as/);
    const empty = await sendMail(h.port, {
      lmtp: true,
      to: [TO, '+79991230002@sms.example.test'],
      body: 'Subject: \r\n\r\n\r\n',
    });
    expect(empty.data.map((x) => `${x.code} ${x.text.slice(0, 5)}`)).toEqual(['550 5.6.0', '550 5.6.0']);
    await h.stop();
  });
});

describe('a dead work thread', () => {
  it('mail gets 451 4.3.0 at once instead of hanging', async () => {
    const h = await startHarness();
    // The thread dies as a crash would end it (the daemon keeps no hook for this: the test reaches its Worker).
    await (h.daemon.spool as unknown as { worker: Worker }).worker.terminate();
    const t0 = Date.now();
    const r = await sendMail(h.port, { to: [TO], body: 'Subject: s\r\n\r\nb\r\n' });
    expect([r.data[0]!.code, r.data[0]!.text.slice(0, 5)]).toEqual([451, '4.3.0']);
    expect(Date.now() - t0).toBeLessThan(5000);
    await h.daemon.smtp.close();
  });
});

describe('spool trouble is a temporary failure, never a 250', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ spool: { max_queued: 3, busy_timeout_ms: 300 } });
  });
  afterAll(() => h.stop());

  it('a spool another writer holds locked past the busy timeout → 451 4.3.0, never a 250', async () => {
    const lock = holdWriteLock(h.config.spool.path);
    const r = await sendMail(h.port, { to: [TO], body: 'Subject: s\r\n\r\nb\r\n' });
    lock.release();
    expect([r.data[0]!.code, r.data[0]!.text]).toEqual([
      451,
      '4.3.0 Temporary local problem storing the message; try again later',
    ]);
  });

  it('a spool failure behind a 451 is counted in smtp2sms_spool_errors_total', async () => {
    const count = async () => Number(/^smtp2sms_spool_errors_total (\d+)/m.exec(await h.daemon.spool.metrics())?.[1]);
    const before = await count();
    const lock = holdWriteLock(h.config.spool.path);
    const r = await sendMail(h.port, { to: [TO], body: 'Subject: counted\r\n\r\nb\r\n' });
    lock.release();
    expect(r.data[0]!.code).toBe(451);
    expect(await count()).toBe(before + 1);
  });

  it('queue above spool.max_queued → 452 4.3.1 at MAIL FROM', async () => {
    for (let i = 0; i < 3; i++)
      expect((await sendMail(h.port, { to: [TO], body: `Subject: ${i}\r\n\r\nb\r\n` })).data[0]!.code).toBe(250);
    await new Promise((r) => setTimeout(r, 1100)); // the queue depth is cached for a second
    const r = await sendMail(h.port, { to: [TO], body: 'Subject: s\r\n\r\nb\r\n' });
    expect([r.mail.code, r.mail.text.slice(0, 5)]).toEqual([452, '4.3.1']);
  });
});
