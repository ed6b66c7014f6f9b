/**
 * Faults, for real: a throttling, dropping, slow, absent or refusing SMSC, and the daemon killed with SIGKILL or
 * stopped with SIGTERM. Every mail that got 250 must reach the simulator (at least once).
 */
import { describe, expect, it } from 'vitest';
import { SmscSimulator, type SimulatorBehaviour } from '../../src/simulator/smsc.js';
import { readSpool, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { RawSmtp, sendMail } from '../helpers/smtp-client.js';

const started = stopAfterEach();

async function simulator(behaviour: SimulatorBehaviour = {}, port = 0) {
  const sim = started.simulator(new SmscSimulator(behaviour));
  return { sim, port: await sim.listen(port) };
}

async function daemonFor(port: number, overrides: Record<string, unknown> = {}, dir = tempDir()) {
  const d = started.daemon(await spawnDaemon(testConfig(port, dir, overrides), dir));
  return d;
}

const body = (i: number, long = false) =>
  `Subject: m${i}\r\n\r\nmessage ${i}${long ? ` ${'long text '.repeat(30)}` : ''}\r\n`;
const subjectOf = (text: string) => text.split('\n')[0];

/** Send `n` mails over one connection; returns the subjects that got 250. */
async function mails(port: number, n: number, offset = 0, long = (i: number) => i % 3 === 0): Promise<string[]> {
  const ok: string[] = [];
  for (let i = offset; i < offset + n; i++) {
    const r = await sendMail(port, {
      to: [`+7999${String(1000000 + i).padStart(7, '0')}@sms.example.test`],
      body: body(i, long(i)),
    });
    if (r.data[0]?.code === 250) ok.push(`m${i}`);
  }
  return ok;
}

function tally(sim: SmscSimulator) {
  const counts = new Map<string, number>();
  for (const sms of sim.received) counts.set(subjectOf(sms.text)!, (counts.get(subjectOf(sms.text)!) ?? 0) + 1);
  return counts;
}

describe('SMSC faults', () => {
  it('throttling every 3rd submit: everything arrives exactly once, the relay slows down', async () => {
    const { sim, port } = await simulator({ throttleEvery: 3 });
    const d = await daemonFor(port);
    const sent = await mails(d.port, 18);
    expect(sent).toHaveLength(18);
    await waitFor(() => sim.received.length >= 18, 50_000, '18 SMS');
    const counts = tally(sim);
    expect([...counts.keys()].sort()).toEqual([...sent].sort());
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(sim.submits.filter((s) => s.status === 0x58).length).toBeGreaterThan(5);
    expect(d.logs.some((l) => l.msg === 'SMSC throttling: slowing down')).toBe(true);
  }, 60_000);

  it('connection dropped at every 7th submit, mid-window: everything arrives, duplicates bounded by the window', async () => {
    const { sim, port } = await simulator({ dropAfter: 7, delayMs: 30 });
    const d = await daemonFor(port, { smpp: { window: 5 } });
    const sent = await mails(d.port, 30);
    await waitFor(() => sent.every((s) => tally(sim).has(s)), 40_000, 'all SMS');
    const drops = sim.binds - 1;
    const dupes = [...tally(sim).values()].reduce((a, c) => a + c - 1, 0);
    expect(drops).toBeGreaterThan(0);
    expect(dupes).toBeLessThanOrEqual(5 * drops);
  });

  it('responses slower than smpp.response_timeout_s: retried, delivered once the SMSC is fast again', async () => {
    const { sim, port } = await simulator({ delayMs: 1500 });
    const d = await daemonFor(port, { smpp: { response_timeout_s: 0.5 } });
    const sent = await mails(d.port, 5, 0, () => false);
    await waitFor(
      () => d.logs.some((l) => String(l.reason ?? '').includes('no submit_sm_resp within 500 ms')),
      15_000,
      'a timeout',
    );
    sim.behaviour.delayMs = 0;
    await waitFor(() => sent.every((s) => tally(sim).has(s)), 30_000, 'all SMS');
    await waitFor(() => readSpool(d.spoolPath).every((r) => r.state === 'delivered'), 15_000, 'all delivered');
  });

  it('SMSC down while mail arrives, then up: mail is accepted and queued, then delivered', async () => {
    const probe = await simulator();
    const port = probe.port;
    await probe.sim.close();
    const d = await daemonFor(port);
    const sent = await mails(d.port, 6);
    expect(sent).toHaveLength(6);
    expect(readSpool(d.spoolPath).every((r) => r.state === 'queued')).toBe(true);
    const { sim } = await simulator({}, port);
    await waitFor(() => sent.every((s) => tally(sim).has(s)), 20_000, 'all SMS after the SMSC came up');
  });

  it('bind refused (bad password): logged clearly, retried slowly, works once fixed', async () => {
    const { sim, port } = await simulator({ systemId: 'smtp2sms', password: 'right' });
    const d = await daemonFor(port, { smpp: { password: 'wrong', bind_refused_retry_s: 0.5 } });
    const sent = await mails(d.port, 3);
    await new Promise((r) => setTimeout(r, 2500));
    // 2.5 s at 0.25–0.5 s per retry: a handful of binds, never a tight loop.
    expect(sim.bindRefusals).toBeGreaterThanOrEqual(3);
    expect(sim.bindRefusals).toBeLessThanOrEqual(12);
    expect(d.logs.some((l) => String(l.msg).includes('SMSC refused the bind (ESME_RINVPASWD)'))).toBe(true);
    sim.behaviour.password = undefined;
    await waitFor(() => sent.every((s) => tally(sim).has(s)), 15_000, 'all SMS after the fix');
  });

  it('a composite whose parts cannot all go within the window is sent again whole with a new reference', async () => {
    const { sim, port } = await simulator();
    const d = await daemonFor(port, { policy: { composite_window_s: 3 } });
    // The first part is accepted, then the SMSC throttles everything for longer than the window (4 s against
    // 3 s). By time, not by count: the simulator reads throttleEvery twice per throttled submit, and how many
    // retries fit in the window depends on the relay's back-off and the machine's load.
    let firstAt: number | undefined;
    const original = sim.behaviour;
    sim.behaviour = {
      ...original,
      get throttleEvery() {
        if (firstAt === undefined) {
          firstAt = Date.now();
          return undefined;
        }
        return Date.now() - firstAt < 4000 ? 1 : undefined;
      },
    } as SimulatorBehaviour;
    const r = await sendMail(d.port, { to: ['+79991234567@sms.example.test'], body: body(1, true) });
    expect(r.data[0]!.code).toBe(250);
    await waitFor(() => sim.received.length === 1, 30_000, 'the complete message');
    const accepted = sim.submits.filter((s) => s.status === 0);
    const refs = new Set(accepted.map((s) => s.pdu.short_message[3]));
    expect(refs.size).toBe(2);
    expect(sim.received[0]!.ref).toBe(accepted.at(-1)!.pdu.short_message[3]);
    expect(d.logs.some((l) => String(l.reason).includes('composite window'))).toBe(true);
  });
});

describe('daemon stops and crashes', () => {
  it('SIGKILL while the window is full and mail is arriving: every 250 reaches the SMSC after restart, duplicates ≤ window', async () => {
    const { sim, port } = await simulator({ delayMs: 150 });
    const dir = tempDir();
    const cfg = { smpp: { window: 10 } };
    const first = await daemonFor(port, cfg, dir);
    const accepted: string[] = [];
    let killed = false;
    const senders = [0, 1, 2, 3].map(async (lane) => {
      for (let i = 0; !killed; i++) {
        const id = lane * 10_000 + i;
        try {
          const r = await sendMail(first.port, {
            to: [`+7999${String(2000000 + id).padStart(7, '0')}@sms.example.test`],
            body: body(id, id % 4 === 0),
          });
          if (r.data[0]?.code === 250) accepted.push(`m${id}`);
        } catch {
          return;
        }
      }
    });
    await waitFor(() => accepted.length >= 40, 20_000, '40 accepted mails');
    killed = true;
    await first.kill('SIGKILL');
    await Promise.all(senders);
    const atKill = readSpool(first.spoolPath);
    expect(atKill.some((r) => r.state === 'sending' || r.state === 'queued')).toBe(true);
    await daemonFor(port, cfg, dir);
    await waitFor(() => accepted.every((s) => tally(sim).has(s)), 60_000, 'every accepted mail at the SMSC');
    const dupes = [...tally(sim).values()].reduce((a, c) => a + c - 1, 0);
    expect(dupes).toBeLessThanOrEqual(10);
  }, 120_000);

  it('SIGTERM: stops taking mail, finishes the window, unbinds, exits 0; a second signal exits at once', async () => {
    const { sim, port } = await simulator({ delayMs: 300 });
    const d = await daemonFor(port, { smpp: { window: 5 } });
    const sent = await mails(d.port, 5, 0, () => false);
    await waitFor(() => sim.submits.length + 5 > 5 && d.logs.some((l) => l.msg === 'bound'), 5000, 'the bind');
    const { client } = await RawSmtp.connect(d.port);
    const exit = d.kill('SIGTERM');
    expect((await exit).code).toBe(0);
    expect(sim.unbinds).toBe(1);
    const rows = readSpool(d.spoolPath);
    expect(rows.filter((r) => r.state === 'sending')).toEqual([]);
    expect(sent.every((s) => tally(sim).has(s))).toBe(true);
    client.close();

    const { sim: slow, port: slowPort } = await simulator({ delayMs: 5000 });
    const d2 = await daemonFor(slowPort, { smpp: { shutdown_timeout_s: 30 } });
    await mails(d2.port, 2, 100, () => false);
    await waitFor(() => slow.binds === 1, 5000, 'the bind');
    const t0 = Date.now();
    d2.child.kill('SIGTERM');
    // Over a second later: the same signal sooner is taken as an echo of the first (Ctrl-C under npm start).
    await new Promise((r) => setTimeout(r, 1200));
    d2.child.kill('SIGTERM');
    const second = await d2.exited;
    expect(second.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
