/**
 * The daemon as a child process (the built CLI), with its config written to a temp dir; the SMSC simulator runs
 * in the test process so tests can inspect every PDU. Logs are JSON lines on stdout, kept for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import YAML from 'yaml';
import { fromRaw } from '../../src/spool/sqlite.js';
import type { SmsRow } from '../../src/spool/types.js';
import { CLI } from './cli.js';

export interface DaemonProcess {
  child: ChildProcess;
  port: number;
  dir: string;
  spoolPath: string;
  configPath: string;
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tempDir(prefix = 'smtp2sms-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Config for a test daemon: loopback, port 0, fast reconnects, the given SMSC port. */
export function testConfig(smscPort: number, dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, Record<string, unknown>> = {
    smtp: { host: '127.0.0.1', port: 0, domains: ['sms.example.test'] },
    smpp: { url: `smpp://127.0.0.1:${smscPort}`, reconnect_min_s: 0.1, reconnect_max_s: 0.5, bind_refused_retry_s: 0.5, retry_base_s: 0.2, retry_max_s: 1, enquire_link_s: 5, response_timeout_s: 2 },
    spool: { path: join(dir, 'spool.sqlite') },
    metrics: { port: 0 },
    log: { level: 'info' },
  };
  for (const [section, values] of Object.entries(overrides)) base[section] = { ...(base[section] ?? {}), ...(values as Record<string, unknown>) };
  return base;
}

export async function spawnDaemon(config: Record<string, unknown>, dir = tempDir()): Promise<DaemonProcess> {
  const configPath = join(dir, `config-${Date.now()}.yaml`);
  writeFileSync(configPath, YAML.stringify(config));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMTP2SMS_')));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'smtp2sms listening') resolve((entry.ports as number[])[0] as number);
        } catch {
          // not a log line
        }
      }
    });
    void exited.then(({ code }) => reject(new Error(`daemon exited (${code}) before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`daemon did not start: ${stderr}`)), 20_000);
  });
  const spoolPath = (config.spool as { path: string }).path;
  return {
    child,
    port,
    dir,
    spoolPath,
    configPath,
    logs,
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
