import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import pgLib from 'pg';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { spawnDaemon, tempDir, testConfig, type DaemonProcess } from '../helpers/daemon-process.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
import { commitId, fmt, Lane, percentile, processCpu, waitUntil, writeSection } from './lib.js';

const MAILS = Number(process.env.BENCH_CLUSTER_MAILS ?? 20_000);
const CONNECTIONS = 8;

const body = (id: number) =>
  'From: bench@example.org\r\nSubject: \r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
  `bench ${id} disk /var on db${id % 50} is 97% full, please check`;
const rcpt = (id: number) => `+7999${String(1_000_000 + (id % 9_000_000)).padStart(7, '0')}@sms.example.test`;
const toPerf = (epochMs: number) => epochMs - (Date.now() - performance.now());

interface Load {
  start: number;
  dataEnd: Map<number, { t: number; node: number }>;
  accepted: number;
  refused: number;
}

/** `count` mails over CONNECTIONS lanes, lane i to node i mod n; as fast as they go, or paced at `rate`. */
async function load(ports: number[], count: number, offset: number, lanes = CONNECTIONS, rate?: number): Promise<Load> {
  const conns = await Promise.all(Array.from({ length: lanes }, (_, i) => Lane.open(ports[i % ports.length]!)));
  const dataEnd = new Map<number, { t: number; node: number }>();
  let accepted = 0;
  let refused = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    conns.map(async (lane, k) => {
      for (;;) {
        const i = next++;
        if (i >= count) break;
        if (rate) {
          const wait = start + (i * 1000) / rate - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const id = offset + i;
        const r = await lane.send(rcpt(id), body(id));
        if (r.code === 250) {
          accepted++;
          dataEnd.set(id, { t: r.dataEnd, node: k % ports.length });
        } else refused++;
      }
      lane.close();
    }),
  );
  await Promise.all(conns.map((c) => c.closed));
  return { start, dataEnd, accepted, refused };
}

interface Result {
  name: string;
  mailsPerSec: number;
  p50: number;
  p99: number;
  cpuUs: number;
  /** Paced run over two nodes: latency of mail accepted by the holder and by the standby. */
  paced?: { holder: [number, number]; standby: [number, number]; standbyOnly: [number, number] };
}

async function holderOf(nodes: DaemonProcess[], metricsPorts: number[]): Promise<number> {
  for (let i = 0; i < nodes.length; i++) {
    const text = await (await fetch(`http://127.0.0.1:${metricsPorts[i]}/metrics`)).text();
    if (/^smtp2sms_cluster_bind_holder\{node="[^"]+"\} 1/m.test(text)) return i;
  }
  return -1;
}

async function run(name: string, pgUrl: string | undefined, nodeCount: number, paced = false): Promise<Result> {
  const sim = new SmscSimulator();
  const smscPort = await sim.listen();
  const dirs: string[] = [];
  const nodes: DaemonProcess[] = [];
  const metricsPorts: number[] = [];
  try {
    for (let n = 0; n < nodeCount; n++) {
      const dir = tempDir('smtp2sms-bench-');
      dirs.push(dir);
      const metricsPort = 19_400 + n + Math.floor(Math.random() * 500) * 2;
      metricsPorts.push(metricsPort);
      const config = testConfig(smscPort, dir, {
        smpp: { binds: 2, window: 20, reconnect_min_s: 0.2, reconnect_max_s: 1 },
        spool: pgUrl ? { backend: 'postgres', url: pgUrl, max_queued: MAILS * 2 } : { max_queued: MAILS * 2 },
        node: { id: `bench-${n}` },
        smtp: { max_clients: 64 },
        metrics: { port: metricsPort },
        log: { level: 'warn' },
      });
      nodes.push(await spawnDaemon(config, dir));
    }
    await waitUntil(() => sim.binds >= 2, 20_000, 'binds');
    const ports = nodes.map((d) => d.port);
    const before = nodes.map((d) => processCpu(d.child.pid!));
    const r = await load(ports, MAILS, 0);
    await waitUntil(() => sim.received.length >= r.accepted, 600_000, 'all SMS at the SMSC');
    const cpu = nodes.reduce((s, d, i) => s + processCpu(d.child.pid!) - before[i]!, 0);
    if (r.refused > 0) throw new Error(`bench: ${r.refused} mails refused (${name})`);
    const at = new Map(sim.received.map((s) => [Number(/bench (\d+)/.exec(s.text)?.[1]), toPerf(s.at)]));
    const last = Math.max(...at.values());
    const lat = [...r.dataEnd].map(([id, d]) => (at.get(id) ?? NaN) - d.t).filter((x) => !Number.isNaN(x));
    const result: Result = {
      name,
      mailsPerSec: r.accepted / ((last - r.start) / 1000),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      cpuUs: (cpu * 1e6) / r.accepted,
    };
    if (paced) {
      const holder = await holderOf(nodes, metricsPorts);
      const seen = sim.received.length;
      const slow = await load(ports, 1000, MAILS, 2, 100);
      await waitUntil(() => sim.received.length >= seen + slow.accepted, 60_000, 'paced SMS');
      const at2 = new Map(sim.received.slice(seen).map((s) => [Number(/bench (\d+)/.exec(s.text)?.[1]), toPerf(s.at)]));
      const of = (holderSide: boolean) =>
        [...slow.dataEnd]
          .filter(([, d]) => (d.node === holder) === holderSide)
          .map(([id, d]) => (at2.get(id) ?? NaN) - d.t)
          .filter((x) => !Number.isNaN(x));
      const pair = (xs: number[]): [number, number] => [percentile(xs, 50), percentile(xs, 99)];
      // Mail to the standby alone, at 10 mails/s: the relaying node has nothing of its own to wake it; the standby's
      // NOTIFY does (without it: the idle claim poll, 0.5 s).
      const seen3 = sim.received.length;
      const lone = await load([ports[1 - holder]!], 200, MAILS + 1000, 1, 10);
      await waitUntil(() => sim.received.length >= seen3 + lone.accepted, 60_000, 'standby-only SMS');
      const at3 = new Map(
        sim.received.slice(seen3).map((s) => [Number(/bench (\d+)/.exec(s.text)?.[1]), toPerf(s.at)]),
      );
      const loneLat = [...lone.dataEnd].map(([id, d]) => (at3.get(id) ?? NaN) - d.t).filter((x) => !Number.isNaN(x));
      result.paced = { holder: pair(of(true)), standby: pair(of(false)), standbyOnly: pair(loneLat) };
    }
    return result;
  } finally {
    // A profiled daemon (SMTP2SMS_DAEMON_NODE_ARGS=--cpu-prof …) writes its profile only on a clean stop.
    await Promise.all(nodes.map((d) => d.kill(process.env.SMTP2SMS_DAEMON_NODE_ARGS ? 'SIGINT' : 'SIGKILL')));
    await sim.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `bench:cluster: ${MAILS} mails per configuration over ${CONNECTIONS} connections; ${cpus().length} cores (${cpu})`,
  );
  let pg: OwnPostgres | undefined;
  const results: Result[] = [];
  try {
    pg = await startOwnPostgres();
    const db = async (name: string) => {
      const admin = new pgLib.Client({ connectionString: pg!.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const u = new URL(pg!.url);
      u.pathname = `/${name}`;
      return u.href;
    };
    // BENCH_CLUSTER_ONLY=sqlite,pg1,pg2 runs some of them (a before/after comparison of one engine).
    const only = process.env.BENCH_CLUSTER_ONLY?.split(',');
    const want = (k: string) => !only || only.includes(k);
    if (want('sqlite')) results.push(await run('SQLite spool, one node', undefined, 1));
    console.log(results.at(-1));
    if (want('pg1')) results.push(await run('PostgreSQL spool, one node', await db('bench_one'), 1));
    console.log(results.at(-1));
    if (want('pg2'))
      results.push(await run('PostgreSQL spool, two nodes on one database', await db('bench_two'), 2, true));
    console.log(results.at(-1));
    if (only) return;
  } finally {
    await pg?.destroy();
  }
  const rows = results
    .map((r) => `| ${r.name} | ${fmt(r.mailsPerSec)} | ${fmt(r.p50, 1)} / ${fmt(r.p99, 1)} | ${fmt(r.cpuUs)} |`)
    .join('\n');
  const p = results.at(-1)!.paced!;
  const md = `## Several nodes: SQLite, PostgreSQL with one node and with two nodes

Command: \`npm run bench:cluster\` (size: \`BENCH_CLUSTER_MAILS=${MAILS}\`, one run per configuration, in this order, in
one process). Machine: ${cpus().length} cores (${cpu}), Node.js ${process.version}, commit ${commitId()},
${new Date().toISOString().slice(0, 10)}. PostgreSQL: a private server started by the script on this machine
(fsync on, synchronous commit), so its CPU competes with the daemons', the load generator's and the simulator's.
Load average when the run started: ${fmt(loadAtStart, 1)} (other work shared the machine: compare the rows with each other).
Each configuration: the daemon(s) as child processes, 2 binds × window 20, ${CONNECTIONS} SMTP connections (two nodes: 4 to
each), plain-text single-part mails; throughput is first MAIL FROM → last SMS at the simulator; latency is DATA end →
SMS at the simulator; CPU per mail is the daemons' processes together (not PostgreSQL's).

| configuration | mails/s | latency p50 / p99 (ms) | daemon CPU per mail (µs) |
| --- | --- | --- | --- |
${rows}

Two nodes at 100 mails/s (1 000 mails over 2 connections, one to each node): mail accepted by the node holding the
binds reaches the simulator in p50 / p99 ${fmt(p.holder[0], 1)} / ${fmt(p.holder[1], 1)} ms, mail accepted by the standby in ${fmt(p.standby[0], 1)} / ${fmt(p.standby[1], 1)} ms
(the holder's own fresh mail wakes its relay, whose claim takes the standby's rows too). Mail to the standby alone
(200 at 10 mails/s): the standby announces each commit (NOTIFY, coalesced), the holder hears it on its bind lock's
connection and claims at once (without it, the relay's idle claim poll every 0.5 s): p50 / p99 ${fmt(p.standbyOnly[0], 1)} / ${fmt(p.standbyOnly[1], 1)} ms.
`;
  writeSection('cluster', md);
  console.log(md);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
