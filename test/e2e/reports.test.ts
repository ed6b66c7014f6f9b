/**
 * Delivery reports (DSN) and SMS replies end to end: a real SMTP sink (smtp-server) stands in for the smarthost;
 * each mail it receives is parsed with mailparser and checked field by field.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmscSimulator, type SimulatorBehaviour } from '../../src/simulator/smsc.js';
import { spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { RawSmtp, sendMail } from '../helpers/smtp-client.js';

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  mail: ParsedMail;
}

class Sink {
  readonly mails: Received[] = [];
  private server: SMTPServer | undefined;
  port = 0;

  async listen(port = 0): Promise<number> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then((mail) => {
            const env = session.envelope;
            this.mails.push({
              from: env.mailFrom ? env.mailFrom.address : '',
              to: env.rcptTo.map((r) => r.address),
              raw,
              mail,
            });
            cb();
          }, cb);
        });
      },
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

let sinks: Sink[] = [];
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
});
const started = stopAfterEach();

async function start(behaviour: SimulatorBehaviour, overrides: Record<string, unknown> = {}, sinkPort = 0) {
  const sink = new Sink();
  sinks.push(sink);
  await sink.listen(sinkPort);
  const sim = started.simulator(new SmscSimulator(behaviour));
  const port = await sim.listen();
  const dir = tempDir();
  const config = testConfig(port, dir, {
    outbound: { smtp_url: `smtp://127.0.0.1:${sink.port}`, retry_min_s: 0.3, retry_max_s: 1 },
    ...overrides,
  });
  const daemon = started.daemon(await spawnDaemon(config, dir));
  return { sink, sim, daemon, config, dir };
}

/** One mail with DSN parameters on MAIL FROM and RCPT TO ('' from: the null sender). */
async function sendDsn(
  port: number,
  from: string,
  mailParams: string,
  to: string,
  rcptParams: string,
  body: string,
): Promise<number> {
  const { client } = await RawSmtp.connect(port);
  try {
    await client.cmd('EHLO test.example');
    expect((await client.cmd(`MAIL FROM:<${from}>${mailParams ? ` ${mailParams}` : ''}`)).code).toBe(250);
    expect((await client.cmd(`RCPT TO:<${to}>${rcptParams ? ` ${rcptParams}` : ''}`)).code).toBe(250);
    const { end } = await client.data(body, 1);
    await client.cmd('QUIT');
    return end[0]!.code;
  } finally {
    client.close();
  }
}

/** A report's part by type, read from the raw mail (mailparser does not hand message/delivery-status out). */
function part(r: Received, type: string): string {
  const { boundary } = (r.mail.headers.get('content-type') as { params: { boundary: string } }).params;
  const section = r.raw
    .toString('utf8')
    .split(`--${boundary}`)
    .find((x) => x.includes(`Content-Type: ${type}`));
  return section ? section.slice(section.search(/\r?\n\r?\n/)).trim() : '';
}

function field(status: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'mi').exec(status)?.[1]?.trim();
}

const reportsTo = (sink: Sink, to: string) => sink.mails.filter((m) => m.to.includes(to));

/** Shared by the SQLite and PostgreSQL runs: `spool` selects the backend. */
async function undeliverableCase(spool: Record<string, unknown>): Promise<void> {
  const { sink, daemon } = await start({ receiptStat: (dest) => (dest.endsWith('1') ? 'REJECTD' : 'DELIVRD') }, spool);

  const body =
    'Message-ID: <alert-1@example.org>\r\nSubject: Disk full\r\nFrom: alerts@example.org\r\n\r\ndb1 is at 99 ' +
    'percent\r\n';
  const rcpt = '+79991230001@sms.example.test';
  expect(
    await sendDsn(
      daemon.port,
      'ops@example.org',
      'RET=HDRS ENVID=env-42',
      rcpt,
      `NOTIFY=FAILURE ORCPT=rfc822;${rcpt.replace('+', '+2B')}`,
      body,
    ),
  ).toBe(250);
  const body2 = body.replace('alert-1', 'alert-2');
  expect(
    await sendDsn(daemon.port, 'ops2@example.org', '', '+79991230002@sms.example.test', 'NOTIFY=SUCCESS', body2),
  ).toBe(250);
  await waitFor(() => sink.mails.length >= 2, 20_000, 'two reports');
  const failed = reportsTo(sink, 'ops@example.org')[0]!;
  expect(failed.from).toBe('');
  const m = failed.mail;
  const status = part(failed, 'message/delivery-status');
  expect(m.headers.get('content-type')).toMatchObject({
    value: 'multipart/report',
    params: { 'report-type': 'delivery-status' },
  });
  expect(m.headers.get('auto-submitted')).toBe('auto-replied');
  expect(m.inReplyTo).toBe('<alert-1@example.org>');
  expect(m.references).toBe('<alert-1@example.org>');
  expect(m.from?.text).toBe('MAILER-DAEMON@sms.example.test');
  expect(m.subject).toBe('SMS not delivered: +79991230001 (Disk full)');
  expect(m.text).toContain('could not be delivered');
  expect(m.text).toContain('"Disk full db1 is at 99 percent"');
  expect(m.text).toContain('stat:REJECTD (rejected by the SMSC), err:001 (subscriber does not exist)');
  expect(field(status, 'Reporting-MTA')).toMatch(/^dns; /);
  expect(field(status, 'Original-Envelope-Id')).toBe('env-42');
  expect(field(status, 'Arrival-Date')).toMatch(/\+0000$/);
  expect(field(status, 'Final-Recipient')).toBe('rfc822; +79991230001@sms.example.test');
  expect(field(status, 'Original-Recipient')).toBe('rfc822;+79991230001@sms.example.test');
  expect(field(status, 'Action')).toBe('failed');
  expect(field(status, 'Status')).toBe('5.1.1');
  expect(field(status, 'Diagnostic-Code')).toBe('X-smpp; stat:REJECTD err:001');
  expect(field(status, 'Last-Attempt-Date')).toMatch(/\+0000$/);
  expect(part(failed, 'text/rfc822-headers')).toContain('Message-ID: <alert-1@example.org>');

  const delivered = reportsTo(sink, 'ops2@example.org')[0]!;
  const st2 = part(delivered, 'message/delivery-status');
  expect([field(st2, 'Action'), field(st2, 'Status'), field(st2, 'Diagnostic-Code')]).toEqual([
    'delivered',
    '2.0.0',
    'X-smpp; stat:DELIVRD',
  ]);
  expect(delivered.mail.inReplyTo).toBe('<alert-2@example.org>');
}

describe('delivery reports', () => {
  it('undeliverable → a failed report with every field, in the thread, from <>; delivered with NOTIFY=SUCCESS', () =>
    undeliverableCase({}));

  it('RET=FULL carries the whole original; expired is failed 5.4.7; NOTIFY=NEVER, <> and default (delivered) get nothing', async () => {
    const { sink, daemon } = await start({ receiptStat: (dest) => (dest.endsWith('3') ? 'EXPIRED' : 'DELIVRD') });
    const body = 'Subject: late\r\n\r\nexpiring text\r\n';
    expect(await sendDsn(daemon.port, 'full@example.org', 'RET=FULL', '+79991230003@sms.example.test', '', body)).toBe(
      250,
    );
    expect(
      await sendDsn(
        daemon.port,
        'never@example.org',
        '',
        '+79991230003@sms.example.test',
        'NOTIFY=NEVER',
        `${body}2\r\n`,
      ),
    ).toBe(250);
    expect(await sendDsn(daemon.port, '', '', '+79991230003@sms.example.test', '', `${body}3\r\n`)).toBe(250);
    expect(
      await sendDsn(daemon.port, 'default@example.org', '', '+79991230004@sms.example.test', '', `${body}4\r\n`),
    ).toBe(250);
    await waitFor(() => sink.mails.length >= 1, 20_000, 'the report');
    // Every other row is final by now; give the sweep a few passes to (wrongly) make more.
    await new Promise((r) => setTimeout(r, 3000));
    expect(sink.mails.map((x) => x.to)).toEqual([['full@example.org']]);
    const st = part(sink.mails[0]!, 'message/delivery-status');
    expect([field(st, 'Action'), field(st, 'Status'), field(st, 'Diagnostic-Code')]).toEqual([
      'failed',
      '5.4.7',
      'X-smpp; stat:EXPIRED err:001',
    ]);
    expect(part(sink.mails[0]!, 'message/rfc822')).toContain('expiring text');
  });

  it('relayed when no receipt is requested (NOTIFY=SUCCESS)', async () => {
    const { sink, daemon } = await start({}, { smpp: { registered_delivery: 0 } });
    expect(
      await sendDsn(
        daemon.port,
        'r@example.org',
        '',
        '+79991230005@sms.example.test',
        'NOTIFY=SUCCESS',
        'Subject: x\r\n\r\nhi\r\n',
      ),
    ).toBe(250);
    await waitFor(() => sink.mails.length >= 1, 20_000, 'the relayed report');
    const st = part(sink.mails[0]!, 'message/delivery-status');
    expect([field(st, 'Action'), field(st, 'Status')]).toEqual(['relayed', '2.0.0']);
  });

  it('delayed once when not submitted within reports.delay_after_s (NOTIFY=DELAY)', async () => {
    // The SMSC refuses every bind: nothing is submitted.
    const { sink, daemon } = await start({ systemId: 'someone-else' }, { reports: { delay_after_s: 1 } });
    const slow = 'Subject: x\r\n\r\nslow\r\n';
    expect(
      await sendDsn(daemon.port, 'd@example.org', '', '+79991230006@sms.example.test', 'NOTIFY=DELAY,FAILURE', slow),
    ).toBe(250);
    await waitFor(() => sink.mails.length >= 1, 20_000, 'the delayed report');
    await new Promise((r) => setTimeout(r, 2500));
    expect(sink.mails).toHaveLength(1);
    const st = part(sink.mails[0]!, 'message/delivery-status');
    expect([field(st, 'Action'), field(st, 'Status')]).toEqual(['delayed', '4.4.1']);
  });

  it('an SMSC refusal of the number is 5.1.1 X-smpp; throttled past delay_after_s is delayed 4.4.5, then expired in the queue smtp; 550 5.4.7', async () => {
    const { sink, daemon } = await start(
      // …9 is refused as a destination (ESME_RINVDSTADR); …8 is throttled (ESME_RTHROTTLED) at every try.
      { submitStatus: (dest) => (dest.endsWith('9') ? 0x0b : dest.endsWith('8') ? 0x58 : undefined) },
      { reports: { delay_after_s: 1 }, spool: { max_age_s: 4 } },
    );
    const body = 'Subject: x\r\n\r\nrefused\r\n';
    expect(await sendDsn(daemon.port, 'bad@example.org', '', '+79991230009@sms.example.test', '', body)).toBe(250);
    expect(
      await sendDsn(daemon.port, 'slow@example.org', '', '+79991230008@sms.example.test', 'NOTIFY=DELAY,FAILURE', body),
    ).toBe(250);
    await waitFor(() => sink.mails.length >= 3, 30_000, 'the failed, delayed and expired reports');
    const statusOf = (m: Received) => {
      const st = part(m, 'message/delivery-status');
      return [field(st, 'Action'), field(st, 'Status'), field(st, 'Diagnostic-Code')];
    };
    const refused = reportsTo(sink, 'bad@example.org');
    expect(refused.map(statusOf)).toEqual([['failed', '5.1.1', 'X-smpp; SMSC refused: ESME_RINVDSTADR']]);
    expect(refused[0]!.mail.text).toContain('Reason:    SMSC refused: ESME_RINVDSTADR');
    const slow = reportsTo(sink, 'slow@example.org');
    expect(slow.map(statusOf)).toEqual([
      ['delayed', '4.4.5', 'X-smpp; ESME_RTHROTTLED'],
      ['failed', '5.4.7', 'smtp; 550 5.4.7 not sent within spool.max_age_s (4 s)'],
    ]);
    expect(slow[1]!.mail.text).toContain('Reason:    not sent within spool.max_age_s (4 s)');
  });

  it('SIGKILL between the final receipt and the sweep: the report is made after the restart, once', async () => {
    // The first run has no outbound.smtp_url, so no sweep runs there: the kill surely falls after the final
    // state's commit and before any report row exists. Only the "report pending" row written at acceptance remains.
    const sim = started.simulator(new SmscSimulator({ receiptStat: () => 'UNDELIV' }));
    const port = await sim.listen();
    const dir = tempDir();
    const first = started.daemon(await spawnDaemon(testConfig(port, dir), dir));
    await sendMail(first.port, {
      from: 'k2@example.org',
      to: ['+79991230008@sms.example.test'],
      body: 'Subject: x\r\n\r\nkilled\r\n',
    });
    await waitFor(
      () => first.logs.some((l) => l.msg === 'receipt' && l.state === 'undeliverable'),
      20_000,
      'the final receipt',
    );
    await first.kill('SIGKILL');
    const sink = new Sink();
    sinks.push(sink);
    await sink.listen();
    const config = testConfig(port, dir, {
      outbound: { smtp_url: `smtp://127.0.0.1:${sink.port}`, retry_min_s: 0.3, retry_max_s: 1 },
    });
    started.daemon(await spawnDaemon(config, dir));
    await waitFor(() => sink.mails.length >= 1, 20_000, 'the report after the restart');
    await new Promise((r) => setTimeout(r, 2500));
    expect(sink.mails.map((m) => m.to)).toEqual([['k2@example.org']]);
    expect(field(part(sink.mails[0]!, 'message/delivery-status'), 'Action')).toBe('failed');
  });

  it('SIGKILL after the final receipt, smarthost down: the report arrives once both are back', async () => {
    const first = await start({ receiptStat: () => 'UNDELIV' });
    const sinkPort = first.sink.port;
    await first.sink.close();
    await sendMail(first.daemon.port, {
      from: 'k@example.org',
      to: ['+79991230007@sms.example.test'],
      body: 'Subject: x\r\n\r\nkilled\r\n',
    });
    await waitFor(
      () => first.daemon.logs.some((l) => l.msg === 'outbox mail not sent; will retry'),
      20_000,
      'a failed send',
    );
    await first.daemon.kill('SIGKILL');
    const sink = new Sink();
    sinks.push(sink);
    await sink.listen(sinkPort);
    started.daemon(await spawnDaemon(first.config, first.dir));
    await waitFor(() => sink.mails.length >= 1, 20_000, 'the report after the restart');
    expect(field(part(sink.mails[0]!, 'message/delivery-status'), 'Diagnostic-Code')).toBe(
      'X-smpp; stat:UNDELIV err:251',
    );
  });
});

async function replyCase(spool: Record<string, unknown>): Promise<void> {
  const { sink, sim, daemon } = await start({}, { replies: { default_to: 'noc@example.org' }, ...spool });
  const body =
    'Message-ID: <page-7@example.org>\r\nReply-To: Team <team@example.org>\r\nSubject: Page: web ' +
    'down\r\n\r\nweb1 down\r\n';
  await sendMail(daemon.port, { from: 'pager@example.org', to: ['+79991234567@sms.example.test'], body });
  await waitFor(() => sim.submits.length === 1 && sim.binds === 1, 10_000, 'the SMS');
  await sim.sendMobileOriginated('79991234567', 'Alerts', 'Принято, еду');
  await sim.sendMobileOriginated('79990000000', 'Alerts', 'who is this?');
  // Wait for the two mails by where they go: counting any two mails let a run on a loaded machine read the sink
  // before the one to replies.default_to had come.
  await waitFor(
    () => reportsTo(sink, 'team@example.org').length >= 1 && reportsTo(sink, 'noc@example.org').length >= 1,
    20_000,
    'the reply in the thread and the one to replies.default_to',
  );
  const reply = reportsTo(sink, 'team@example.org')[0]!.mail;
  expect(reply.from?.text).toBe('79991234567@sms.example.test');
  expect(reply.subject).toBe('Re: Page: web down');
  expect(reply.inReplyTo).toBe('<page-7@example.org>');
  expect(reply.references).toBe('<page-7@example.org>');
  expect(reply.text).toMatch(/^Принято, еду\n\nOn .* said:\n> Page: web down/);
  const other = reportsTo(sink, 'noc@example.org')[0]!.mail;
  expect(other.subject).toBe('SMS from +79990000000');
  expect(other.text).toContain('who is this?');
}

describe('SMS replies', () => {
  it('concatenated replies (GSM UDH 8-bit, UCS-2 UDH 16-bit split inside a surrogate pair, SAR) arrive whole in the thread', async () => {
    const { sink, sim, daemon } = await start({});
    const body = 'Message-ID: <page-9@example.org>\r\nSubject: Page: db down\r\n\r\ndb1 down\r\n';
    await sendMail(daemon.port, { from: 'pager@example.org', to: ['+79991234568@sms.example.test'], body });
    await waitFor(() => sim.submits.length === 1 && sim.binds === 1, 10_000, 'the SMS');
    const long = `ack ${'x'.repeat(170)} end €`;
    await sim.sendFromPhone({ from: '79991234568', to: 'Alerts', text: long, concat: 'udh8', ref: 7 });
    const emoji = 'Да 👍';
    const cut = Buffer.from(emoji, 'utf16le').length - 2; // between the surrogates
    await sim.sendFromPhone({
      from: '79991234568',
      to: 'Alerts',
      text: emoji,
      coding: 'ucs2',
      concat: 'udh16',
      ref: 0x1234,
      splitAfterBytes: [cut],
    });
    await sim.sendFromPhone({
      from: '79991234568',
      to: 'Alerts',
      text: `sar ${'y'.repeat(200)}`,
      concat: 'sar',
      ref: 300,
    });
    await waitFor(() => sink.mails.length >= 3, 20_000, 'three reply mails');
    const texts = sink.mails.map((m) => m.mail.text?.split('\n\n')[0]);
    expect(texts).toEqual([long, emoji, `sar ${'y'.repeat(200)}`]);
    for (const m of sink.mails) {
      expect([m.to, m.mail.subject, m.mail.inReplyTo, m.mail.from?.text]).toEqual([
        ['pager@example.org'],
        'Re: Page: db down',
        '<page-9@example.org>',
        '79991234568@sms.example.test',
      ]);
    }
  });

  it('part 1 of a 2-part reply, SIGKILL, restart, part 2: one mail with the whole text', async () => {
    const { sink, sim, daemon, config, dir } = await start({});
    const body = 'Message-ID: <page-11@example.org>\r\nSubject: Page: mq down\r\n\r\nmq1 down\r\n';
    await sendMail(daemon.port, { from: 'pager@example.org', to: ['+79991234569@sms.example.test'], body });
    await waitFor(() => sim.submits.length === 1 && sim.binds === 1, 10_000, 'the SMS');
    const long = `on it ${'z'.repeat(170)} done`;
    const reply = { from: '79991234569', to: 'Alerts', text: long, concat: 'udh8' as const, ref: 11 };
    // Acknowledged: the SMSC will not send part 1 again, so only the spool can still have it.
    expect(await sim.sendFromPhone({ ...reply, onlyParts: [1] })).toEqual([0]);
    await daemon.kill('SIGKILL');
    const bindsBefore = sim.binds;
    started.daemon(await spawnDaemon(config, dir));
    await waitFor(() => sim.binds > bindsBefore, 10_000, 'the bind after the restart');
    expect(await sim.sendFromPhone({ ...reply, onlyParts: [2] })).toEqual([0]);
    await waitFor(() => sink.mails.length >= 1, 20_000, 'the reply mail');
    await new Promise((r) => setTimeout(r, 1500));
    expect(sink.mails.map((m) => [m.to, m.mail.inReplyTo, m.mail.text?.split('\n\n')[0]])).toEqual([
      [['pager@example.org'], '<page-11@example.org>', long],
    ]);
  });

  it('a reply reaches the original sender (its Reply-To) in the thread; an unmatched one goes to replies.default_to', () =>
    replyCase({}));
});

describe('on the PostgreSQL spool', () => {
  // A database per test: a stopped daemon's node stays live in its database for a while, and the next test's
  // daemon (another simulator port) would meet it as a running cluster with other settings.
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db?.drop();
  });
  const pg = () => ({ spool: { backend: 'postgres', url: db.url, pool_size: 4, statement_timeout_ms: 2000 } });
  it('undeliverable → a failed report; delivered with NOTIFY=SUCCESS', () => undeliverableCase(pg()));
  it('a reply reaches the original sender in the thread; an unmatched one goes to replies.default_to', () =>
    replyCase(pg()));
});
