/**
 * The spool under faults, for real: two daemons on one spool, outcomes that cannot be committed for a while, a
 * spool that takes no writes (another writer's lock; a full disk), and spool files deleted under a running
 * daemon. No mail that got 250 may be lost, and no SMS may be sent twice by a daemon that was stopped cleanly.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import {
  freePort,
  readSpool,
  spawnDaemon,
  stopAfterEach,
  tempDir,
  testConfig,
  waitFor,
} from '../helpers/daemon-process.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { sendMail } from '../helpers/smtp-client.js';
import { fillDisk, holdWriteLock } from '../helpers/spool-faults.js';

const started = stopAfterEach();

async function simulator(delayMs = 0) {
  const sim = started.simulator(new SmscSimulator({ delayMs }));
  return { sim, port: await sim.listen() };
}

const to = (i: number) => [`+7999${String(3000000 + i).padStart(7, '0')}@sms.example.test`];
const mail = (port: number, i: number) => sendMail(port, { to: to(i), body: `Subject: m${i}\r\n\r\nmessage ${i}\r\n` });

/** How often each subject reached the SMSC. */
function tally(sim: SmscSimulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const sms of sim.received) {
    const subject = sms.text.split('\n')[0]!;
    counts.set(subject, (counts.get(subject) ?? 0) + 1);
  }
  return counts;
}

describe('one daemon per spool', () => {
  it('a second daemon on the same spool exits 1 naming the spool and the holder; the first resends nothing', async () => {
    // Answers after 1.5 s, within the daemon's response timeout (2 s): the first daemon alone sends each once.
    const { sim, port } = await simulator(1500);
    const dir = tempDir();
    const first = started.daemon(await spawnDaemon(testConfig(port, dir), dir));
    const replies = await Promise.all([0, 1, 2, 3, 4].map((i) => mail(first.port, i)));
    expect(replies.map((r) => r.data[0]!.code)).toEqual([250, 250, 250, 250, 250]);
    // The five are in flight when the second daemon starts.
    await waitFor(
      () => readSpool(first.spoolPath).filter((r) => r.state === 'sending').length === 5,
      5000,
      'rows in flight',
    );
    const second = started.daemon(await spawnDaemon(testConfig(port, dir), dir, { waitListening: false }));
    expect((await second.exited).code).toBe(1);
    const line = second.logs.find((l) => l.level === 60);
    expect(line?.msg).toContain(
      `the spool ${resolve(join(dir, 'spool.sqlite'))} is in use by another smtp2sms (pid ${first.child.pid})`,
    );
    expect(second.logs.some((l) => l.msg === 'smtp2sms listening')).toBe(false);

    expect((await mail(first.port, 5)).data[0]!.code).toBe(250);
    await waitFor(() => tally(sim).size === 6, 15_000, 'all six SMS');
    await new Promise((r) => setTimeout(r, 1000));
    expect([...tally(sim).values()]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('the lock of a SIGKILLed daemon never blocks the next start', async () => {
    const { sim, port } = await simulator();
    const dir = tempDir();
    const first = started.daemon(await spawnDaemon(testConfig(port, dir), dir));
    expect((await mail(first.port, 1)).data[0]!.code).toBe(250);
    await first.kill('SIGKILL');
    const next = started.daemon(await spawnDaemon(testConfig(port, dir), dir));
    expect((await mail(next.port, 2)).data[0]!.code).toBe(250);
    await waitFor(() => tally(sim).has('m2'), 10_000, 'the SMS of the new daemon');
  });
});

describe('send outcomes the spool cannot take for a while', () => {
  it('are kept and recorded once it can: rows end submitted, and a clean restart sends nothing again', async () => {
    const { sim, port } = await simulator(3000);
    const dir = tempDir();
    const overrides = {
      smpp: { url: `smpp://127.0.0.1:${port}`, window: 20 },
      spool: { path: join(dir, 'spool.sqlite'), busy_timeout_ms: 300 },
    };
    let h: Harness | undefined = await startHarness(overrides);
    try {
      await waitFor(() => sim.binds === 1, 10_000, 'the bind');
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => mail(h!.port, i)));
      expect(replies.map((r) => r.data[0]!.code)).toEqual(Array(10).fill(250));
      // All ten are at the SMSC, whose answers come later: the spool turns read-only before they do.
      await waitFor(
        () => readSpool(join(dir, 'spool.sqlite')).filter((r) => r.state === 'sending').length === 10,
        5000,
        '10 in flight',
      );
      // Another writer holds the file's lock: every outcome write waits 300 ms and fails.
      const lock = holdWriteLock(join(dir, 'spool.sqlite'));
      await waitFor(() => sim.submits.length === 10, 10_000, 'the SMSC to answer all ten');
      await new Promise((r) => setTimeout(r, 500));
      expect(readSpool(join(dir, 'spool.sqlite')).every((r) => r.state === 'sending')).toBe(true);
      lock.release();
      await waitFor(
        () => readSpool(join(dir, 'spool.sqlite')).every((r) => r.state === 'submitted' || r.state === 'delivered'),
        15_000,
        'every outcome recorded',
      );
      await h.stop();
      h = await startHarness(overrides);
      await waitFor(() => sim.binds === 2, 10_000, 'the restarted daemon to bind');
      await new Promise((r) => setTimeout(r, 1500));
      expect(sim.submits).toHaveLength(10);
      expect([...tally(sim).values()].every((n) => n === 1)).toBe(true);
    } finally {
      await h?.stop();
    }
  });
});

describe('/healthz and the spool', () => {
  it('a full disk: mail gets 451 4.3.0 and /healthz says the spool is unwritable; mail is taken again when there is room', async () => {
    const { port } = await simulator();
    const dir = tempDir();
    const metricsPort = await freePort();
    const d = started.daemon(await spawnDaemon(testConfig(port, dir, { metrics: { port: metricsPort } }), dir));
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).json()) as {
        spoolWritable: boolean;
        spoolProblem?: string;
      };
    expect((await health()).spoolWritable).toBe(true);
    expect((await mail(d.port, 1)).data[0]!.code).toBe(250);
    const room = fillDisk(d.child.pid!);
    let lifted = false;
    try {
      // 40 recipients of a 6-part text: more than any page the file has free.
      const many = Array.from({ length: 40 }, (_, i) => to(100 + i)[0]!);
      const refused = await sendMail(d.port, { to: many, body: `Subject: full\r\n\r\n${'y '.repeat(500)}\r\n` });
      expect([refused.data[0]!.code, refused.data[0]!.text]).toEqual([
        451,
        '4.3.0 Temporary local problem storing the message; try again later',
      ]);
      const sick = await health();
      expect(sick.spoolWritable).toBe(false);
      expect(sick.spoolProblem).toMatch(/^a spool write failed \d+ s ago: /);
      room();
      lifted = true;
      expect((await mail(d.port, 2)).data[0]!.code).toBe(250);
      // Nothing of the refused mail was stored; both accepted mails were.
      expect(
        readSpool(d.spoolPath)
          .map((r) => r.recipient)
          .sort(),
      ).toEqual([to(1)[0]!, to(2)[0]!].map((a) => a.slice(1, a.indexOf('@'))));
    } finally {
      if (!lifted) room();
    }
  });

  it('a spool another writer holds locked fails /healthz with no mail arriving (the check makes a real write)', async () => {
    const metricsPort = await freePort();
    const h = await startHarness({ metrics: { port: metricsPort }, spool: { busy_timeout_ms: 300 } });
    const lock = holdWriteLock(h.config.spool.path);
    try {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { spoolWritable: boolean }).spoolWritable).toBe(false);
    } finally {
      lock.release();
      await h.stop();
    }
  });
});

describe('spool files deleted under a running daemon', () => {
  it('mail gets 451 4.3.0, /healthz fails, an error is logged; never a 250 into the deleted file', async () => {
    const { sim, port } = await simulator();
    const dir = tempDir();
    const metricsPort = await freePort();
    const d = started.daemon(await spawnDaemon(testConfig(port, dir, { metrics: { port: metricsPort } }), dir));
    await waitFor(() => sim.binds === 1, 10_000, 'the bind');
    expect((await mail(d.port, 1)).data[0]!.code).toBe(250);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${d.spoolPath}${suffix}`, { force: true });
    const r = await mail(d.port, 2);
    expect([r.data[0]!.code, r.data[0]!.text.slice(0, 5)]).toEqual([451, '4.3.0']);
    expect((await mail(d.port, 3)).data[0]!.code).toBe(451);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { spoolProblem?: string }).spoolProblem).toContain(
      `the spool file ${d.spoolPath} was deleted`,
    );
    expect(
      d.logs.some((l) => l.level === 50 && String(l.msg).includes('was deleted while open; restart smtp2sms')),
    ).toBe(true);
    expect(tally(sim).has('m2')).toBe(false);
  });
});
