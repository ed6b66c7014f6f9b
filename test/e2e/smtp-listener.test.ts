/** The SMTP listener over real loopback sockets: connect rules, AUTH, recipients, limits, TLS, LMTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/smtp/auth.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { authPlain, RawSmtp, sendMail } from '../helpers/smtp-client.js';

const TO = '+79991234567@sms.example.test';
const BODY = 'Subject: test\r\n\r\nDisk full on db1\r\n';

describe('connection, capabilities, recipients (open server)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ smtp: { max_recipients: 3, max_message_bytes: 4096 } });
  });
  afterAll(() => h.stop());

  it('greets and advertises PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, SIZE; no AUTH without users, no STARTTLS without a cert', async () => {
    const { client, greeting } = await RawSmtp.connect(h.port);
    expect(greeting.code).toBe(220);
    expect(greeting.text).toContain('smtp2sms');
    const ehlo = await client.cmd('EHLO client.example');
    const caps = ehlo.lines.map((l) => l.slice(4));
    expect(caps).toEqual(
      expect.arrayContaining(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'SIZE 4096']),
    );
    expect(caps.some((c) => c.startsWith('AUTH'))).toBe(false);
    expect(caps).not.toContain('STARTTLS');
    client.close();
  });

  it.each([
    ['+79991234567@sms.example.test', '2.1.5'],
    ['79991234567@SMS.Example.Test', '2.1.5'],
    ['89991234567@sms.example.test', '2.1.5'],
    ['+7-999-123-45-67@sms.example.test', '2.1.5'],
    ['+7.999.123.45.67@sms.example.test', '2.1.5'],
    ['0079991234567@sms.example.test', '2.1.5'],
  ])('accepts %s', async (rcpt, enhanced) => {
    const { client } = await RawSmtp.connect(h.port);
    await client.cmd('EHLO x');
    await client.cmd('MAIL FROM:<a@example.org>');
    const r = await client.cmd(`RCPT TO:<${rcpt}>`);
    expect([r.code, r.text.split(' ')[0]]).toEqual([250, enhanced]);
    client.close();
  });

  it.each([
    ['123@sms.example.test', '550 5.1.1', 'too short'],
    ['call-me@sms.example.test', '550 5.1.1', 'contains letters'],
    ['+999123456789@sms.example.test', '550 5.1.1', 'unknown country code'],
    ['+79991234567@example.org', '550 5.7.1', 'Relaying denied: "example.org" is not an SMS domain'],
    ['+79991234567@sub.sms.example.test', '550 5.7.1', 'Relaying denied'],
    ['user%other.example@sms.example.test', '550 5.7.1', 'not a plain'],
    ['"79991234567"@sms.example.test', '550 5.7.1', 'not a plain'],
    // smtp-server refuses a quoted local part with "@" in it as bad syntax before it reaches us.
    ['"x@evil.example"@sms.example.test', '501 5.1.3', 'Bad recipient address syntax'],
    // RFC 5321 § 3.6.1: the route is ignored, so this is victim@evil.example: a foreign domain.
    ['@sms.example.test:victim@evil.example', '550 5.7.1', 'Relaying denied: "evil.example"'],
    ['evil.example!79991234567@sms.example.test', '550 5.7.1', 'not a plain'],
  ])('refuses %s with %s', async (rcpt, expected, reason) => {
    const { client } = await RawSmtp.connect(h.port);
    await client.cmd('EHLO x');
    await client.cmd('MAIL FROM:<a@example.org>');
    const r = await client.cmd(`RCPT TO:<${rcpt}>`);
    expect(`${r.code} ${r.text}`.startsWith(expected)).toBe(true);
    expect(r.text).toContain(reason);
    client.close();
  });

  it('a source route to our own domain is ignored (RFC 5321 § 3.6.1): the number itself is the recipient, nothing is relayed', async () => {
    const r = await sendMail(h.port, { to: ['@relay.example:+79991234567@sms.example.test'], body: BODY });
    expect(r.rcpt[0]!.code).toBe(250);
    const queueId = /Queued as ([0-9a-f]+)/.exec(r.data[0]!.text)![1]!;
    expect((await h.daemon.spool.byQueueId(queueId)).map((row) => row.recipient)).toEqual(['79991234567']);
  });

  it('452 4.5.3 past smtp.max_recipients, and the accepted ones still get the mail', async () => {
    const to = ['+79991230001', '+79991230002', '+79991230003', '+79991230004'].map((p) => `${p}@sms.example.test`);
    const r = await sendMail(h.port, { to, body: BODY });
    expect(r.rcpt.map((x) => x.code)).toEqual([250, 250, 250, 452]);
    expect(r.rcpt[3]!.text).toMatch(/^4\.5\.3 /);
    expect(r.data[0]!.text).toMatch(/^2\.0\.0 Queued as [0-9a-f]{12}: 3 recipients × 1 part \(GSM\)$/);
  });

  it('552 5.3.4 for a mail over smtp.max_message_bytes', async () => {
    const r = await sendMail(h.port, { to: [TO], body: `Subject: big\r\n\r\n${'x'.repeat(5000)}\r\n` });
    expect([r.data[0]!.code, r.data[0]!.text.slice(0, 5)]).toEqual([552, '5.3.4']);
  });

  it('SIZE= announced over the limit is refused at MAIL FROM', async () => {
    const { client } = await RawSmtp.connect(h.port);
    await client.cmd('EHLO x');
    const r = await client.cmd('MAIL FROM:<a@example.org> SIZE=100000');
    expect(r.code).toBe(552);
    client.close();
  });

  it('PIPELINING: all commands in one write, all replies in order', async () => {
    const { client } = await RawSmtp.connect(h.port);
    await client.cmd('EHLO x');
    client.write(`MAIL FROM:<a@example.org>\r\nRCPT TO:<${TO}>\r\nRCPT TO:<bad@example.org>\r\nDATA\r\n`);
    const replies = [await client.read(), await client.read(), await client.read(), await client.read()];
    expect(replies.map((r) => r.code)).toEqual([250, 250, 550, 354]);
    client.write(`Subject: pipelined\r\n\r\nin one write\r\n.\r\n`);
    expect((await client.read()).code).toBe(250);
    client.close();
  });
});

describe('allow_networks', () => {
  it('554 5.7.1 at connect for a client outside the list', async () => {
    const h = await startHarness({ smtp: { allow_networks: ['10.0.0.0/8', '2001:db8::/32'] } });
    const { client, greeting } = await RawSmtp.connect(h.port);
    expect(greeting.code).toBe(554);
    expect(greeting.text).toMatch(/^5\.7\.1 Access denied/);
    client.close();
    await h.stop();
  });

  it('IPv4 and IPv6 clients inside the list are served', async () => {
    const h = await startHarness({ smtp: { host: '::', allow_networks: ['127.0.0.1/32', '::1/128'] } });
    for (const host of ['127.0.0.1', '::1']) {
      const { client, greeting } = await RawSmtp.connect(h.port, host);
      expect(greeting.code).toBe(220);
      client.close();
    }
    const { client, greeting } = await RawSmtp.connect(h.port, '127.0.0.2', '127.0.0.2');
    expect(greeting.code).toBe(554);
    client.close();
    await h.stop();
  });
});

describe('AUTH', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      smtp: {
        auth: {
          required: true,
          users: [
            { username: 'zabbix', password_hash: await hashPassword('s3cret') },
            { username: 'legacy', password: 'plain-pw' },
          ],
        },
        tls: { key: 'test/fixtures/tls/key.pem', cert: 'test/fixtures/tls/cert.pem' },
      },
    });
  });
  afterAll(() => h.stop());

  it('530 5.7.0 for mail without AUTH', async () => {
    const r = await sendMail(h.port, { to: [TO], body: BODY });
    expect([r.mail.code, r.mail.text.slice(0, 5)]).toEqual([530, '5.7.0']);
  });

  it('AUTH PLAIN with a scrypt hash and AUTH LOGIN with a plaintext password', async () => {
    expect((await sendMail(h.port, { to: [TO], body: BODY, auth: ['zabbix', 's3cret'] })).data[0]!.code).toBe(250);
    const { client } = await RawSmtp.connect(h.port);
    await client.cmd('EHLO x');
    expect((await client.cmd('AUTH LOGIN')).code).toBe(334);
    expect((await client.cmd(Buffer.from('legacy').toString('base64'))).code).toBe(334);
    const ok = await client.cmd(Buffer.from('plain-pw').toString('base64'));
    expect([ok.code, ok.text.slice(0, 5)]).toEqual([235, '2.7.0']);
    client.close();
  });

  it('535 5.7.8 for bad credentials, slower with each failure from the same IP', async () => {
    const { client } = await RawSmtp.connect(h.port);
    await client.cmd('EHLO x');
    const times: number[] = [];
    for (const [u, p] of [
      ['zabbix', 'wrong'],
      ['nobody', 'x'],
      ['zabbix', 'wrong2'],
    ] as const) {
      const t0 = Date.now();
      const r = await client.cmd(`AUTH PLAIN ${authPlain(u, p)}`);
      times.push(Date.now() - t0);
      expect([r.code, r.text.slice(0, 5)]).toEqual([535, '5.7.8']);
    }
    // 500 ms, 1 s, 2 s by design: a floor, not a timing measurement.
    expect(times[0]).toBeGreaterThanOrEqual(450);
    expect(times[2]).toBeGreaterThanOrEqual(1900);
    client.close();
  });

  it('implicit TLS port serves the same', async () => {
    const tlsHarness = await startHarness({
      smtp: {
        auth: { users: [{ username: 'u', password: 'p' }] },
        tls: { key: 'test/fixtures/tls/key.pem', cert: 'test/fixtures/tls/cert.pem', implicit_port: 0 },
      },
    });
    const [, implicitPort] = tlsHarness.daemon.smtp.ports();
    const { client, greeting } = await RawSmtp.connectTls(implicitPort!);
    expect(greeting.code).toBe(220);
    const ehlo = await client.cmd('EHLO x');
    expect(ehlo.lines.some((l) => l.includes('AUTH PLAIN LOGIN'))).toBe(true);
    expect((await client.cmd(`AUTH PLAIN ${authPlain('u', 'p')}`)).code).toBe(235);
    client.close();
    await tlsHarness.stop();
  });

  it('STARTTLS with the configured certificate, then AUTH', async () => {
    const { client } = await RawSmtp.connect(h.port);
    const ehlo = await client.cmd('EHLO x');
    expect(ehlo.lines.map((l) => l.slice(4))).toContain('STARTTLS');
    expect((await client.starttls()).code).toBe(220);
    await client.cmd('EHLO x');
    expect((await client.cmd(`AUTH PLAIN ${authPlain('zabbix', 's3cret')}`)).code).toBe(235);
    client.close();
  });
});
