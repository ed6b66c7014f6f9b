/**
 * `npm start` as an operator, a process manager or a container runtime runs it: npm's own process is the one they
 * signal, and the daemon underneath must stop cleanly with it, never be left behind holding its ports.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor } from '../helpers/daemon-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface NpmStart {
  npm: ChildProcess;
  ports: number[];
  out: () => string;
  exited: Promise<number | null>;
}

const groups: number[] = [];
afterEach(() => {
  // npm runs in a process group of its own, which a daemon left behind keeps: end whatever of it is still there.
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // the group is gone: nothing to clean up
    }
  }
});

/** `npm start -- --config FILE`: the example config (demo mode) on free ports; the last --config is the one taken. */
async function npmStart(): Promise<NpmStart> {
  const dir = tempDir();
  const example = readFileSync(join(ROOT, 'config/smtp2sms.example.yaml'), 'utf8');
  const config = YAML.parse(example) as Record<string, Record<string, unknown>>;
  const [smtpPort, smscPort, metricsPort, webPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  config.smtp!.port = smtpPort;
  config.smpp!.url = `smpp://127.0.0.1:${smscPort}`;
  config.simulator!.port = smscPort;
  config.metrics!.port = metricsPort;
  config.web!.port = webPort;
  config.spool!.path = join(dir, 'spool.sqlite');
  const file = join(dir, 'demo.yaml');
  writeFileSync(file, YAML.stringify(config));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('SMTP2SMS_') && !k.startsWith('npm_')),
  );
  // detached: npm leads a process group, as a shell's job does, so a test can press "Ctrl-C" on it.
  const npm = spawn('npm', ['start', '--', '--config', file], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  groups.push(npm.pid!);
  let out = '';
  npm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const listening = () => out.includes('smtp2sms listening');
  await waitFor(() => listening() || npm.exitCode !== null, 20_000, 'the daemon under npm start');
  if (!listening()) throw new Error(`npm start did not start the daemon:\n${out}`);
  return { npm, ports: [smtpPort, smscPort, metricsPort, webPort], out: () => out, exited };
}

/** Live (not zombie) processes of a process group, from /proc. */
function liveInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // ended while we looked
    }
    // After "(comm)": state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(name));
  }
  return pids;
}

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function expectStoppedCleanly(run: NpmStart): Promise<void> {
  expect(await run.exited).toBe(0);
  const pgid = run.npm.pid!;
  await waitFor(() => liveInGroup(pgid).length === 0, 10_000, 'every process of npm start to end').catch(() => {
    throw new Error(`left running after npm start ended: ${liveInGroup(pgid).join(', ')}\n${run.out()}`);
  });
  for (const port of run.ports) expect(await refused(port), `port ${port} is free`).toBe(true);
  expect(run.out()).toMatch(/INFO: stopped/);
  expect(run.out()).not.toMatch(/second signal/);
}

describe.runIf(process.platform === 'linux')('npm start stops when told', () => {
  it('SIGTERM to the npm process (kill %1, a process manager, a container runtime) stops the daemon', async () => {
    const run = await npmStart();
    run.npm.kill('SIGTERM');
    await expectStoppedCleanly(run);
    expect(run.out()).toMatch(/signal: "SIGTERM"/);
  });

  it('SIGINT to the npm process stops the daemon', async () => {
    const run = await npmStart();
    run.npm.kill('SIGINT');
    await expectStoppedCleanly(run);
    expect(run.out()).toMatch(/signal: "SIGINT"/);
  });

  it("Ctrl-C (SIGINT to the whole group, so npm's forwarded copy arrives too) is one clean stop", async () => {
    const run = await npmStart();
    // What the terminal does, in a fixed order (sent at once, the two copies may or may not merge into one): its
    // SIGINT reaches the daemon, then npm's, which npm passes on.
    const pgid = run.npm.pid!;
    for (const pid of liveInGroup(pgid).filter((p) => p !== pgid)) process.kill(pid, 'SIGINT');
    process.kill(pgid, 'SIGINT');
    await expectStoppedCleanly(run);
  });

  it('the daemon runs on the node first on PATH, the one running these tests', async () => {
    const run = await npmStart();
    expect(execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()).toBe(process.version);
    expect(run.out()).toContain(`nodejs: "${process.version}"`);
    run.npm.kill('SIGTERM');
    await expectStoppedCleanly(run);
  });
});
