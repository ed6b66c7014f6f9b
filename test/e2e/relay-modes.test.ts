/** Relay behaviour by configuration: final failures, expiry, parallel binds, transmitter+receiver, TLS, shutdown. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SmscSimulator, type SimulatorBehaviour, type SimulatorTls } from '../../src/simulator/smsc.js';
import { readSpool, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { RawSmtp, sendMail } from '../helpers/smtp-client.js';

const started = stopAfterEach();

async function setup(
  behaviour: SimulatorBehaviour,
  overrides: Record<string, unknown> = {},
  tls?: SimulatorTls,
  scheme = 'smpp',
) {
  const sim = started.simulator(new SmscSimulator(behaviour, undefined, tls));
  const port = await sim.listen();
  const dir = tempDir();
  const cfg = testConfig(port, dir, overrides);
  (cfg.smpp as Record<string, unknown>).url = `${scheme}://localhost:${port}`;
  const d = started.daemon(await spawnDaemon(cfg, dir));
  return { sim, d };
}

const send = (port: number, to: string, text = 'hello') =>
  sendMail(port, { to: [`${to}@sms.example.test`], body: `Subject: \r\n\r\n${text}\r\n` });

describe('outcomes', () => {
  it('a permanent refusal (0x0B) fails the message at once with the code name; a temporary one (0x08) retries until max_attempts, then expires', async () => {
    const { sim, d } = await setup(
      { refusePrefixes: ['7999000'], submitStatus: (dest) => (dest.startsWith('7999111') ? 0x08 : undefined) },
      { smpp: { max_attempts: 3, retry_base_s: 0.1, retry_max_s: 0.2 } },
    );
    await send(d.port, '+79990001111');
    await send(d.port, '+79991112222');
    await send(d.port, '+79993334444');
    await waitFor(
      () => readSpool(d.spoolPath).every((r) => ['failed', 'expired', 'delivered'].includes(r.state)),
      20_000,
      'final states',
    );
    const [refused, temporary, fine] = readSpool(d.spoolPath);
    expect([refused!.state, refused!.reason, refused!.attempts]).toEqual([
      'failed',
      'SMSC refused: ESME_RINVDSTADR',
      1,
    ]);
    expect([temporary!.state, temporary!.attempts]).toEqual(['expired', 3]);
    expect(temporary!.reason).toBe('ESME_RSYSERR; gave up after 3 attempts');
    expect(fine!.state).toBe('delivered');
    expect(sim.submits.filter((s) => s.pdu.destination_addr === '79991112222')).toHaveLength(3);
  });

  it('a message not sent within spool.max_age_s expires (SMSC down)', async () => {
    const sim = started.simulator(new SmscSimulator());
    const port = await sim.listen();
    await sim.close();
    const dir = tempDir();
    const d = started.daemon(await spawnDaemon(testConfig(port, dir, { spool: { max_age_s: 1 } }), dir));
    await send(d.port, '+79991234567');
    await waitFor(() => readSpool(d.spoolPath)[0]!.state === 'expired', 10_000, 'expired');
    expect(readSpool(d.spoolPath)[0]!.reason).toMatch(/not sent within spool\.max_age_s/);
  });
});

describe('binds', () => {
  it('smpp.binds: 3 parallel transceiver sessions share the load', async () => {
    const { sim, d } = await setup({ delayMs: 50 }, { smpp: { binds: 3, window: 2 } });
    await waitFor(() => sim.binds === 3, 10_000, '3 binds');
    const all = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(d.port, `+7999123${String(i).padStart(4, '0')}`)),
    );
    expect(all.every((r) => r.data[0]!.code === 250)).toBe(true);
    await waitFor(() => sim.received.length === 12, 15_000, '12 SMS');
    await waitFor(() => readSpool(d.spoolPath).every((r) => r.state === 'delivered'), 10_000, 'receipts');
  });

  it('transmitter_receiver: submits on the transmitter, receipts on the receiver', async () => {
    const { sim, d } = await setup({}, { smpp: { bind_mode: 'transmitter_receiver' } });
    await waitFor(() => sim.binds === 2, 10_000, 'two binds');
    await send(d.port, '+79991234567');
    await waitFor(() => readSpool(d.spoolPath)[0]?.state === 'delivered', 10_000, 'delivered via the receiver');
    expect(
      d.logs
        .filter((l) => l.msg === 'bound')
        .map((l) => l.mode)
        .sort(),
    ).toEqual(['receiver', 'transmitter']);
  });

  it('ssmpp:// with the SMSC certificate as CA: delivered; without it, verification fails and nothing is sent', async () => {
    const tls = { key: readFileSync('test/fixtures/tls/key.pem'), cert: readFileSync('test/fixtures/tls/cert.pem') };
    const ok = await setup({}, { smpp: { tls: { ca: 'test/fixtures/tls/cert.pem' } } }, tls, 'ssmpp');
    await send(ok.d.port, '+79991234567');
    await waitFor(() => readSpool(ok.d.spoolPath)[0]?.state === 'delivered', 10_000, 'delivered over TLS');
    const bad = await setup({}, {}, tls, 'ssmpp');
    await send(bad.d.port, '+79991234567');
    await waitFor(
      () => bad.d.logs.some((l) => String(l.err).includes('self-signed') || String(l.err).includes('certificate')),
      10_000,
      'a TLS error',
    );
    expect(bad.sim.binds).toBe(0);
    expect(readSpool(bad.d.spoolPath)[0]!.state).toBe('queued');
  });
});

describe('keepalive', () => {
  it("an SMSC that stops answering ENQUIRE_LINK is dropped and reconnected; the SMSC's own ENQUIRE_LINK is answered", async () => {
    const { sim, d } = await setup({}, { smpp: { enquire_link_s: 1, response_timeout_s: 0.3 } });
    await waitFor(() => sim.binds === 1, 10_000, 'bind');
    expect(await sim.enquireLinkClients()).toBe(1);
    await waitFor(() => sim.enquireLinks >= 2, 5000, 'keepalives');
    sim.behaviour.silent = true;
    await waitFor(
      () => d.logs.some((l) => l.msg === 'ENQUIRE_LINK unanswered: dropping the connection'),
      5000,
      'the drop',
    );
    sim.behaviour.silent = false;
    await waitFor(() => sim.binds >= 2, 10_000, 'the reconnect');
    await send(d.port, '+79991234567');
    await waitFor(() => readSpool(d.spoolPath)[0]?.state === 'delivered', 10_000, 'delivered after the reconnect');
  });
});

describe('shutdown', () => {
  it('SIGTERM: an idle SMTP client is told 421 and the daemon exits 0', async () => {
    const { sim, d } = await setup({});
    await waitFor(() => sim.binds === 1, 10_000, 'bind');
    const { client } = await RawSmtp.connect(d.port);
    await client.cmd('EHLO x');
    const exit = d.kill('SIGTERM');
    const reply = await client.read(15_000);
    expect(reply.code).toBe(421);
    expect((await exit).code).toBe(0);
    client.close();
  });
});
