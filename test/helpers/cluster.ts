/**
 * Two or more smtp2sms nodes on one PostgreSQL database, as child processes, for the cluster tests: start a node,
 * read which holds the binds, put SMTP load on them, read the database, check every 250 reached the SMSC.
 */
import pg from 'pg';
import type { SmscSimulator } from '../../src/simulator/smsc.js';
import {
  freePort,
  spawnDaemon,
  tempDir,
  testConfig,
  waitFor,
  type DaemonProcess,
  type SpawnOptions,
} from './daemon-process.js';
import { sendMail, type SmtpReply } from './smtp-client.js';

/** Short lease and failover so the tests see take-over within seconds (defaults: 15 s each). */
export const CLUSTER = { lease_s: 3, lease_renew_s: 1, failover_s: 3 };

export interface Node {
  d: DaemonProcess;
  metricsPort: number;
}

/** `track` registers the daemon for the caller's clean-up (stopAfterEach().daemon). */
export async function startNode(
  track: (d: DaemonProcess) => DaemonProcess,
  url: string,
  smscPort: number,
  id: string,
  extra: Record<string, unknown> = {},
  spawn: SpawnOptions = {},
): Promise<Node> {
  const dir = tempDir();
  const metricsPort = await freePort();
  const config = testConfig(smscPort, dir, {
    spool: { backend: 'postgres', url, pool_size: 4, statement_timeout_ms: 2000 },
    node: { id },
    cluster: CLUSTER,
    metrics: { port: metricsPort },
    ...extra,
  });
  return { d: track(await spawnDaemon(config, dir, spawn)), metricsPort };
}

export async function holderMetric(n: Node): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${n.metricsPort}/metrics`)).text();
  const m = /^smtp2sms_cluster_bind_holder\{node="[^"]+"\} (\d)/m.exec(text);
  return Number(m?.[1] ?? -1);
}

/** The answer that decided the mail: DATA's, or a refused RCPT's, or MAIL's. */
export const reply = (r: Awaited<ReturnType<typeof sendMail>>): SmtpReply =>
  r.data[0] ?? r.rcpt.find((x) => x.code !== 250) ?? r.mail;

export async function rows(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

export function load(nodes: () => Node[], prefix: string) {
  const accepted = new Set<string>();
  const refused: SmtpReply[] = [];
  let sending = true;
  let n = 0;
  const stream = async (k: number) => {
    while (sending) {
      const i = n++;
      const to = `${prefix}${String(i).padStart(5, '0')}`;
      const list = nodes();
      const node = list[(i + k) % list.length]!;
      const r = await sendMail(node.d.port, {
        to: [`+${to}@sms.example.test`],
        body: `Subject: load ${i}\r\n\r\nmail ${i}\r\n`,
      }).catch(() => undefined);
      const rep = r ? reply(r) : undefined;
      if (rep?.code === 250) accepted.add(to);
      else if (rep) refused.push(rep);
      if (!rep) await new Promise((res) => setTimeout(res, 50));
    }
  };
  const streams = Array.from({ length: 8 }, (_, k) => stream(k));
  return {
    accepted,
    refused,
    async stop() {
      sending = false;
      await Promise.all(streams);
    },
  };
}

export async function everyAcceptedSent(sim: SmscSimulator, accepted: Set<string>, timeoutMs: number): Promise<void> {
  await waitFor(
    () => {
      const got = new Set(sim.received.map((s) => s.to.replace(/^\+/, '')));
      return [...accepted].every((t) => got.has(t));
    },
    timeoutMs,
    'every accepted mail at the simulator',
  );
}

/** waitFor for a condition that must ask something (the database, a node's metrics). */
export async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
