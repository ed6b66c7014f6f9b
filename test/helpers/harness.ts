/** An in-process daemon on loopback with a real spool file in a temp dir, for SMTP-stage tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/ops/log.js';

export interface Harness {
  daemon: Daemon;
  config: Config;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v)
        ? merge((base[k] as Record<string, unknown>) ?? {}, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export async function startHarness(overrides: DeepPartial<Record<string, unknown>> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-test-'));
  const config = parseConfig(
    merge(
      {
        smtp: { host: '127.0.0.1', port: 0, domains: ['sms.example.test'] },
        spool: { path: join(dir, 'spool.sqlite') },
        metrics: { port: 0 },
        // Off: test files run in parallel, and the web page's default port is one fixed port.
        web: { port: 0 },
      },
      overrides as Record<string, unknown>,
    ),
  );
  const daemon = await startDaemon(config, silentLogger());
  return { daemon, config, port: daemon.smtp.ports()[0] as number, dir, stop: () => daemon.stop() };
}
