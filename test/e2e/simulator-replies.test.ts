/**
 * Replies from a simulated phone (issue 22: replies by mail could not be tried in the demo): `simulate-smsc
 * --auto-reply`, a reply typed on its standard input, and the embedded simulator's `simulator.auto_reply`.
 * The daemon stores each as an inbound SMS (no smarthost here), as it does a real phone's.
 */
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { freePort, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { sendMail } from '../helpers/smtp-client.js';

const started = stopAfterEach();
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function inbound(spoolPath: string): Array<{ source_addr: string; destination_addr: string; text: string }> {
  const db = new Database(spoolPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT source_addr, destination_addr, text FROM inbound ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

async function simulateSmsc(args: string[]) {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'simulate-smsc', '--port', String(port), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('SMSC simulator listening'), 10_000, 'the simulator');
  return { port, child, out: () => out };
}

describe('replies from a simulated phone', () => {
  it('simulate-smsc answers with --auto-reply, and a reply typed on its standard input reaches the daemon', async () => {
    const sim = await simulateSmsc(['--auto-reply', 'Принято', '--auto-reply-delay-ms', '100']);
    const dir = tempDir();
    const d = started.daemon(await spawnDaemon(testConfig(sim.port, dir, { smpp: { source_addr: 'Alerts' } }), dir));
    const r = await sendMail(d.port, { to: ['+79991234567@sms.example.test'], body: 'Subject: db down\r\n\r\nx\r\n' });
    expect(r.data[0]!.code).toBe(250);
    await waitFor(() => inbound(d.spoolPath).length === 1, 15_000, 'the auto-reply');
    expect(inbound(d.spoolPath)).toEqual([{ source_addr: '79991234567', destination_addr: 'Alerts', text: 'Принято' }]);
    sim.child.stdin!.write('reply +79997654321 Alerts On my way, ETA 20 min\n');
    sim.child.stdin!.write('hello\n');
    await waitFor(() => inbound(d.spoolPath).length === 2, 15_000, 'the typed reply');
    expect(inbound(d.spoolPath)[1]).toEqual({
      source_addr: '79997654321',
      destination_addr: 'Alerts',
      text: 'On my way, ETA 20 min',
    });
    expect(sim.out()).toContain('usage: reply <phone> <to> <text>');
    expect(sim.out()).toContain('reply from +79997654321 to Alerts: "On my way, ETA 20 min"');
  });

  it('the embedded simulator (demo mode) answers every SMS when simulator.auto_reply is set', async () => {
    const simPort = await freePort();
    const dir = tempDir();
    const config = testConfig(simPort, dir, {
      smpp: { source_addr: 'Alerts' },
      simulator: { enabled: true, port: simPort, auto_reply: 'OK, on it', auto_reply_delay_s: 0.1 },
    });
    const d = started.daemon(await spawnDaemon(config, dir));
    await waitFor(() => d.logs.some((l) => l.msg === 'bound'), 10_000, 'the bind');
    const r = await sendMail(d.port, { to: ['+79991234567@sms.example.test'], body: 'Subject: s\r\n\r\nx\r\n' });
    expect(r.data[0]!.code).toBe(250);
    await waitFor(() => inbound(d.spoolPath).length === 1, 15_000, 'the auto-reply');
    expect(inbound(d.spoolPath)[0]).toEqual({
      source_addr: '79991234567',
      destination_addr: 'Alerts',
      text: 'OK, on it',
    });
  });
});
