/**
 * The provider's rules through the real daemon: what the client is told, and what reaches the SMSC simulator
 * (exactly once, or nothing).
 */
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import {
  readSpool,
  spawnDaemon,
  stopAfterEach,
  tempDir,
  testConfig,
  waitFor,
  type DaemonProcess,
} from '../helpers/daemon-process.js';
import { RawSmtp, sendMail } from '../helpers/smtp-client.js';

let sim: SmscSimulator | undefined;
let daemon: DaemonProcess | undefined;
const started = stopAfterEach();

async function start(overrides: Record<string, unknown> = {}) {
  sim = started.simulator(new SmscSimulator());
  const port = await sim.listen();
  const dir = tempDir();
  daemon = started.daemon(await spawnDaemon(testConfig(port, dir, overrides), dir));
  return { d: daemon, sim };
}

const A = '+79991230001@sms.example.test';
const B = '+79991230002@sms.example.test';
const mail = (text: string, messageId?: string) =>
  `${messageId ? `Message-ID: ${messageId}\r\n` : ''}Subject: \r\n\r\n${text}\r\n`;
const settle = () => new Promise((r) => setTimeout(r, 500));

describe('duplicates', () => {
  it('an identical SMS within the window is refused with 550 5.7.1 and sent once', async () => {
    const { d, sim } = await start();
    expect((await sendMail(d.port, { to: [A], body: mail('Disk full on db1') })).data[0]!.code).toBe(250);
    const again = await sendMail(d.port, { to: [A], body: mail('Disk full on db1') });
    expect(again.data[0]!.code).toBe(550);
    expect(again.data[0]!.text).toMatch(
      /^5\.7\.1 Duplicate: an identical SMS to \+79991230001 was accepted \d+ s ago; identical messages are refused for 60 s$/,
    );
    await waitFor(() => sim.received.length >= 1, 10_000, 'the first SMS');
    await settle();
    expect(sim.received.map((s) => s.text)).toEqual(['Disk full on db1']);
    expect(readSpool(d.spoolPath).map((r) => r.state)).toEqual(['delivered', 'refused']);
  });

  it('duplicate_action: drop answers 250 and sends nothing', async () => {
    const { d, sim } = await start({ policy: { duplicate_action: 'drop' } });
    await sendMail(d.port, { to: [A], body: mail('x1') });
    const again = await sendMail(d.port, { to: [A], body: mail('x1') });
    expect(again.data[0]!.code).toBe(250);
    expect(again.data[0]!.text).toMatch(/^2\.0\.0 Dropped, nothing sent: Duplicate: an identical SMS to \+79991230001/);
    await waitFor(() => sim.received.length >= 1, 10_000, 'the SMS');
    await settle();
    expect(sim.received).toHaveLength(1);
  });

  it('multi-recipient: some refused → 250 naming them; all refused → 550; LMTP answers each', async () => {
    const { d, sim } = await start();
    await sendMail(d.port, { to: [A], body: mail('backup failed') });
    const mixed = await sendMail(d.port, { to: [A, B], body: mail('backup failed') });
    expect(mixed.data[0]!.code).toBe(250);
    expect(mixed.data[0]!.text).toMatch(
      /^2\.0\.0 Queued as [0-9a-f]{12}: 1 recipient × 1 part \(GSM\); \+79991230001 refused \(duplicate, accepted \d+ s ago\)$/,
    );
    const all = await sendMail(d.port, { to: [A, B], body: mail('backup failed') });
    expect(all.data[0]!.code).toBe(550);
    expect(all.data[0]!.text).toMatch(/^5\.7\.1 Duplicate: .*\+79991230001.*; Duplicate: .*\+79991230002/);
    await waitFor(() => sim.received.length >= 2, 10_000, 'two SMS');
    await settle();
    expect(sim.received.map((s) => s.to).sort()).toEqual(['79991230001', '79991230002']);
    await daemon!.kill('SIGKILL');
    await sim.close();

    const lmtp = await start({ smtp: { lmtp: true } });
    await sendMail(lmtp.d.port, { lmtp: true, to: [A], body: mail('lmtp text') });
    const r = await sendMail(lmtp.d.port, { lmtp: true, to: [A, B], body: mail('lmtp text') });
    expect(r.data.map((x) => `${x.code} ${x.text.slice(0, 5)}`)).toEqual(['550 5.7.1', '250 2.0.0']);
  });
});

describe('retransmission', () => {
  it('the same Message-ID again gets 250 with the first queue id and no second SMS', async () => {
    const { d, sim } = await start();
    const first = await sendMail(d.port, { to: [A], body: mail('reset password code 4711', '<retry-1@example.org>') });
    const again = await sendMail(d.port, { to: [A], body: mail('reset password code 4711', '<retry-1@example.org>') });
    const id = /Queued as ([0-9a-f]{12})/.exec(first.data[0]!.text)![1];
    expect(again.data[0]!.code).toBe(250);
    expect(again.data[0]!.text).toBe(
      `2.0.0 Queued as ${id}: 1 recipient × 1 part (GSM) (already accepted; not sent again)`,
    );
    await waitFor(() => sim.received.length >= 1, 10_000, 'the SMS');
    await settle();
    expect(sim.received).toHaveLength(1);
    expect(readSpool(d.spoolPath)).toHaveLength(1);
  });
});

describe('flood', () => {
  it('at flood_max the next RCPT TO gets 450 4.7.1; other recipients are unaffected; nothing extra is sent', async () => {
    const { d, sim } = await start({ policy: { flood_max: 3, flood_gap_s: 30 } });
    for (let i = 0; i < 3; i++)
      expect((await sendMail(d.port, { to: [A], body: mail(`alert ${i}`) })).data[0]!.code).toBe(250);
    const { client } = await RawSmtp.connect(d.port);
    await client.cmd('EHLO x');
    await client.cmd('MAIL FROM:<a@example.org>');
    const refused = await client.cmd(`RCPT TO:<${A}>`);
    expect([refused.code, refused.text]).toEqual([
      450,
      '4.7.1 Too many messages to +79991230001: 3 accepted less than 30 s apart (provider limit); try again ' +
        'after 30 s without messages',
    ]);
    expect((await client.cmd(`RCPT TO:<${B}>`)).code).toBe(250);
    const { end } = await client.data(mail('alert 3'));
    expect(end[0]!.text).toMatch(/: 1 recipient × 1 part/);
    client.close();
    await waitFor(() => sim.received.length >= 4, 10_000, '4 SMS');
    await settle();
    expect(sim.received.filter((s) => s.to === '79991230001')).toHaveLength(3);
    expect(sim.received.filter((s) => s.to === '79991230002')).toHaveLength(1);
  });
});
