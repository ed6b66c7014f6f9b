/**
 * The daemon as a child process (the built CLI), with its config written to a temp dir; the SMSC simulator runs
 * in the test process so tests can inspect every PDU. Logs are JSON lines on stdout, kept for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import type { SmscSimulator } from '../../src/simulator/smsc.js';
import YAML from 'yaml';
import { fromRaw } from '../../src/spool/sqlite/store.js';
import type { SmsRow } from '../../src/spool/types.js';
import { CLI, cliNodeEnv, cliNodeFlags } from './cli.js';

export interface DaemonProcess {
  child: ChildProcess;
  port: number;
  dir: string;
  spoolPath: string;
  configPath: string;
  logs: Array<Record<string, unknown>>;
  /** The same log lines as written (JSON.parse hides a key written twice). */
  lines: string[];
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tempDir(prefix = 'smtp2sms-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Config for a test daemon: loopback, port 0, fast reconnects, the given SMSC port. */
export function testConfig(
  smscPort: number,
  dir: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const base: Record<string, Record<string, unknown>> = {
    smtp: { host: '127.0.0.1', port: 0, domains: ['sms.example.test'] },
    smpp: {
      url: `smpp://127.0.0.1:${smscPort}`,
      reconnect_min_s: 0.1,
      reconnect_max_s: 0.5,
      bind_refused_retry_s: 0.5,
      retry_base_s: 0.2,
      retry_max_s: 1,
      enquire_link_s: 5,
      response_timeout_s: 2,
    },
    spool: { path: join(dir, 'spool.sqlite') },
    metrics: { port: 0 },
    // Off unless a test asks: its default port would be shared by every test daemon.
    web: { port: 0 },
    log: { level: 'info' },
  };
  for (const [section, values] of Object.entries(overrides))
    base[section] = { ...(base[section] ?? {}), ...(values as Record<string, unknown>) };
  return base;
}

/** A port nothing listens on right now (the daemon takes it a moment later). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface SpawnOptions {
  /** Sees each log line as it arrives, start-up's too (to signal the daemon while it starts). */
  onLog?: (line: Record<string, unknown>, child: ChildProcess) => void;
  /** false: return at once, without waiting for the SMTP port (for a daemon told to stop while it starts). */
  waitListening?: boolean;
  /** More environment for the daemon (e.g. fakeTimeEnv: its clock moved). */
  env?: Record<string, string>;
}

/**
 * A port from freePort() can be taken by another test's daemon before this one listens (files run in parallel):
 * then this daemon exits with EADDRINUSE and is started again on another port.
 */
export async function spawnDaemon(
  config: Record<string, unknown>,
  dir = tempDir(),
  opts: SpawnOptions = {},
): Promise<DaemonProcess> {
  const smtp = config.smtp as { port: number };
  const pickPort = smtp.port === 0;
  for (let attempt = 1; ; attempt++) {
    if (pickPort) smtp.port = await freePort();
    try {
      return await spawnOnce(config, dir, opts);
    } catch (err) {
      if (!pickPort || attempt === 3 || !(err as Error).message.includes('EADDRINUSE')) throw err;
    }
  }
}

async function spawnOnce(config: Record<string, unknown>, dir: string, opts: SpawnOptions): Promise<DaemonProcess> {
  const { onLog, waitListening = true } = opts;
  const smtp = config.smtp as { port: number };
  const configPath = join(dir, `config-${Date.now()}.yaml`);
  writeFileSync(configPath, YAML.stringify(config));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMTP2SMS_')));
  // SMTP2SMS_DAEMON_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") reach the daemon only, for profiling.
  const nodeArgs = process.env.SMTP2SMS_DAEMON_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...cliNodeFlags(), ...nodeArgs, CLI, 'serve', '--config', configPath], {
    env: { ...env, ...cliNodeEnv(), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = smtp.port;
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // not a log line
      }
      logs.push(entry);
      lines.push(line);
      onLog?.(entry, child);
    }
  });
  // 'close' comes after stderr has been read to its end, so the error below carries the daemon's last words.
  let exitedEarly = false;
  child.once('close', () => (exitedEarly = true));
  // With info logs, "listening" is read from this daemon's own log line: the port answering could be another's.
  const level = (config.log as { level?: string } | undefined)?.level ?? 'info';
  const listening = ['trace', 'debug', 'info'].includes(level)
    ? async () => logs.some((l) => l.msg === 'smtp2sms listening')
    : () => accepting(port);
  const deadline = Date.now() + 20_000;
  while (waitListening && !(await listening())) {
    if (exitedEarly) throw new Error(`daemon exited before listening: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`daemon did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const spoolPath = (config.spool as { path: string }).path;
  return {
    child,
    port,
    dir,
    spoolPath,
    configPath,
    logs,
    lines,
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Read the spool file as it is on disk (a second connection, read-only). */
export function readSpool(path: string): SmsRow[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT * FROM sms ORDER BY id').all() as Parameters<typeof fromRaw>[0][]).map(fromRaw);
  } finally {
    db.close();
  }
}

export async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What a test starts through this is stopped after it: daemons killed, simulators closed. */
export function stopAfterEach(): {
  simulator(s: SmscSimulator): SmscSimulator;
  daemon(d: DaemonProcess): DaemonProcess;
} {
  const sims: SmscSimulator[] = [];
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.kill('SIGKILL')));
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });
  return {
    simulator: (s) => {
      sims.push(s);
      return s;
    },
    daemon: (d) => {
      daemons.push(d);
      return d;
    },
  };
}
