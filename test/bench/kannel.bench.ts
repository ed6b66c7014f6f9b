/**
 * `npm run bench:kannel`: smtp2sms side by side with Kannel (issue 17), both relaying to one counting SMSC on the
 * same machine, taken in turn. Kannel: Debian's bearerbox + smsbox, HTTP sendsms over 16 keep-alive connections.
 * smtp2sms: its default config (SMSC address and spool path apart; receipts and the flood rule off), 8 SMTP
 * connections. Per round and gateway: messages/s (first request → last submit_sm at the SMSC), CPU µs per message
 * of the gateway's own processes, and p50/p99 request → submit_sm at 100 messages/s. The figure is the ratio of the
 * medians. Without bearerbox/smsbox on PATH it says so and measures smtp2sms alone (exit 0: it must not fail CI).
 *
 * Sizes: BENCH_MAILS (20 000 per round and gateway), BENCH_RUNS (3), BENCH_PACED (1 000 at 100/s), BENCH_WARMUP
 * (500). BENCH_ONLY=smtp2sms|kannel runs one side (for a profile: SMTP2SMS_DAEMON_NODE_ARGS="--cpu-prof ...").
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pgLib from 'pg';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
import { findBinaries } from '../setup/postgres-binaries.js';
import { freePort, spawnDaemon, tempDir } from '../helpers/daemon-process.js';
import { commitId, fmt, Lane, median, percentile, processCpu, threadCpu, waitUntil, writeSection } from './lib.js';
import { summarize } from './profile-summary.js';

const MAILS = Number(process.env.BENCH_MAILS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PACED = Number(process.env.BENCH_PACED ?? 1_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);
const ONLY = process.env.BENCH_ONLY;
const SMTP_CONNECTIONS = 8;
const HTTP_CONNECTIONS = 16;
const PACED_RATE = 100;

/** CLOCK_MONOTONIC in ms: the counting SMSC stamps arrivals with the same clock, in its own process. */
const now = () => Number(process.hrtime.bigint()) / 1e6;

const text = (id: number) => `bench ${id} disk /var on db${id % 50} is 97% full, please check`;
const phone = (id: number) => `+7999${String(1_000_000 + (id % 9_000_000)).padStart(7, '0')}`;

// ---- the counting SMSC (its own process) ----

interface Arrivals {
  ids: number[];
  at: number[];
}

class CountingSmsc {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}
  static async start(): Promise<CountingSmsc> {
    const script = fileURLToPath(new URL('./counting-smsc.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', () => reject(new Error('bench: the counting SMSC exited')));
    });
    return new CountingSmsc(child, port);
  }
  private ask<T>(cmd: string): Promise<T> {
    return new Promise((resolve) => {
      this.child.once('message', (m) => resolve(m as T));
      this.child.send({ cmd });
    });
  }
  async count(): Promise<number> {
    return (await this.ask<{ count: number }>('count')).count;
  }
  /** The arrivals since the last take, forgotten by the SMSC. */
  take(): Promise<Arrivals> {
    return this.ask<Arrivals>('take');
  }
  async waitFor(n: number, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ((await this.count()) < n) {
      if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what} (${await this.count()} of ${n})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  stop(): void {
    this.child.kill('SIGKILL');
  }
}

// ---- CPU of a gateway's processes, from /proc ----

// ---- the two gateways, behind one shape ----

interface Gateway {
  name: 'smtp2sms' | 'Kannel';
  pids: number[];
  /** `count` messages with ids from `offset`, at full speed or paced at `rate`; the time each request started. */
  load(count: number, offset: number, rate?: number): Promise<{ start: number; sent: Map<number, number> }>;
  stop(): Promise<void>;
  /** CPU seconds so far of a database server the gateway uses (smtp2sms on PostgreSQL), counted apart. */
  dbCpu?: () => number;
}

/** Spread `count` requests over `lanes` concurrent senders, one request at a time each, optionally paced. */
async function drive(
  lanes: number,
  count: number,
  offset: number,
  rate: number | undefined,
  send: (lane: number, id: number) => Promise<boolean>,
): Promise<{ start: number; sent: Map<number, number> }> {
  const sent = new Map<number, number>();
  let next = 0;
  let refused = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (;;) {
        const i = next++;
        if (i >= count) break;
        if (rate) {
          const wait = start + (i * 1000) / rate - now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const t = now();
        if (await send(lane, offset + i)) sent.set(offset + i, t);
        else refused++;
      }
    }),
  );
  if (refused > 0) throw new Error(`bench: ${refused} messages refused`);
  return { start, sent };
}

/** The SMTP load: SMTP_CONNECTIONS connections to `port`, one mail at a time each, 250 counted as accepted. */
function smtpLoad(port: number): Gateway['load'] {
  return async (count, offset, rate) => {
    const lanes = await Promise.all(Array.from({ length: SMTP_CONNECTIONS }, () => Lane.open(port)));
    try {
      return await drive(SMTP_CONNECTIONS, count, offset, rate, async (lane, id) => {
        const r = await lanes[lane]!.send(`${phone(id)}@sms.example.test`, `Subject: \r\n\r\n${text(id)}`);
        return r.code === 250;
      });
    } finally {
      for (const l of lanes) l.close();
      await Promise.all(lanes.map((l) => l.closed));
    }
  };
}

let lastDaemonPid = 0;

/** smtp2sms on a SQLite spool, or (`pg`) on a fresh database of a private PostgreSQL server. */
async function startSmtp2sms(smscPort: number, pg?: { url: string; cpu: () => number }): Promise<Gateway> {
  const dir = tempDir('smtp2sms-kannel-bench-');
  // Its defaults, apart from where to listen and send, the spool, receipts and the flood rule (issue 17).
  const config = {
    smtp: { host: '127.0.0.1', port: 0, domains: ['sms.example.test'] },
    smpp: { url: `smpp://127.0.0.1:${smscPort}`, registered_delivery: 0 },
    spool: pg ? { backend: 'postgres', url: pg.url } : { path: join(dir, 'spool.sqlite') },
    policy: { flood_max: 0 },
    metrics: { port: 0 },
    web: { port: 0 },
    // BENCH_SMTP2SMS_LOG=warn: what the default log level costs (a diagnostic; the figure uses the default).
    ...(process.env.BENCH_SMTP2SMS_LOG ? { log: { level: process.env.BENCH_SMTP2SMS_LOG } } : {}),
  };
  const d = await spawnDaemon(config, dir);
  return {
    name: 'smtp2sms',
    pids: [d.child.pid!],
    ...(pg ? { dbCpu: pg.cpu } : {}),
    load: smtpLoad(d.port),
    async stop() {
      // SIGINT lets --cpu-prof write its profiles; otherwise the daemon is killed as a crash would.
      await d.kill(process.env.SMTP2SMS_DAEMON_NODE_ARGS ? 'SIGINT' : 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      // --perf-basic-prof's symbol map of this daemon: profileRound reads it after the daemon ends, then removes it.
      lastDaemonPid = d.child.pid!;
      if (!process.env.BENCH_PERF) rmSync(`/tmp/perf-${d.child.pid}.map`, { force: true });
    },
  };
}

const kannelInstalled = () =>
  ['bearerbox', 'smsbox'].every((bin) =>
    (process.env.PATH ?? '')
      .split(':')
      .concat('/usr/sbin', '/usr/bin')
      .some((p) => existsSync(join(p, bin))),
  );

/** Kannel processes started by this bench, killed on any exit (an error included) so none outlives it. */
const kannelChildren = new Set<ChildProcess>();
const kannelDirs = new Set<string>();
process.on('exit', () => {
  for (const c of kannelChildren) c.kill('SIGKILL');
  for (const dir of kannelDirs) rmSync(dir, { recursive: true, force: true });
});

function kannelConf(dir: string, ports: { admin: number; box: number; sendsms: number; smsc: number }): string {
  return `group = core
admin-port = ${ports.admin}
admin-password = bench
admin-allow-ip = 127.0.0.1
smsbox-port = ${ports.box}
box-allow-ip = 127.0.0.1
log-level = 3
log-file = "${join(dir, 'bearerbox.log')}"
store-type = file
store-location = "${join(dir, 'kannel.store')}"

group = smsc
smsc = smpp
smsc-id = counting
host = 127.0.0.1
port = ${ports.smsc}
receive-port = 0
transceiver-mode = true
smsc-username = bench
smsc-password = bench
system-type = VMA
max-pending-submits = 100

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${ports.box}
sendsms-port = ${ports.sendsms}
log-level = 3
log-file = "${join(dir, 'smsbox.log')}"

group = sendsms-user
username = bench
password = bench
default-sender = 12345
max-messages = 1
`;
}

function spawnBox(bin: string, conf: string): ChildProcess {
  // -v 3: errors only on the console too, as log-level 3 in the files (its default is debug: -v 0, which
  // BENCH_KANNEL_CONSOLE=0 restores, to see what that costs).
  const level = process.env.BENCH_KANNEL_CONSOLE ?? '3';
  const child = spawn(bin, ['-v', level, conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  kannelChildren.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  child.once('exit', (code, signal) => {
    kannelChildren.delete(child);
    if (!stopping.has(child)) console.error(`bench: ${bin} exited (${code ?? signal}): ${stderr}`);
  });
  return child;
}

/** Kannel processes being stopped by the bench: their exit is expected. */
const stopping = new WeakSet<ChildProcess>();

async function stopBox(child: ChildProcess): Promise<void> {
  stopping.add(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function startKannel(smscPort: number): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'kannel-bench-'));
  kannelDirs.add(dir);
  const ports = { admin: await freePort(), box: await freePort(), sendsms: await freePort(), smsc: smscPort };
  const conf = join(dir, 'kannel.conf');
  writeFileSync(conf, kannelConf(dir, ports));
  const bearerbox = spawnBox('bearerbox', conf);
  const children = [bearerbox];
  const stop = async () => {
    // smsbox first, so bearerbox does not wait for it; then the store file goes with the temp dir.
    for (const c of [...children].reverse()) await stopBox(c);
    rmSync(dir, { recursive: true, force: true });
    kannelDirs.delete(dir);
  };
  try {
    await waitUntil(() => existsSync(join(dir, 'bearerbox.log')), 10_000, 'bearerbox');
    await new Promise((r) => setTimeout(r, 300)); // its smsbox port opens just after the log
    children.push(spawnBox('smsbox', conf));
    const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_CONNECTIONS });
    const sendsms = (id: number) =>
      new Promise<boolean>((resolve) => {
        const q =
          `username=bench&password=bench&to=${encodeURIComponent(phone(id))}` + `&text=${encodeURIComponent(text(id))}`;
        const path = `/cgi-bin/sendsms?${q}`;
        const req = http.get({ host: '127.0.0.1', port: ports.sendsms, path, agent }, (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode === 202));
        });
        req.once('error', () => resolve(false));
      });
    // smsbox listens a moment after it starts, and connects to bearerbox: ready when a sendsms is accepted.
    await (async () => {
      const end = Date.now() + 20_000;
      while (!(await sendsms(-1))) {
        if (Date.now() > end) throw new Error('bench: Kannel did not accept a sendsms within 20 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      name: 'Kannel',
      pids: children.map((c) => c.pid!),
      load: (count, offset, rate) => drive(HTTP_CONNECTIONS, count, offset, rate, (_lane, id) => sendsms(id)),
      async stop() {
        agent.destroy();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- one round of one gateway ----

interface RoundResult {
  perSec: number;
  cpuUs: number;
  /** The database server's CPU per message (smtp2sms on PostgreSQL; 0 otherwise), not in cpuUs. */
  dbUs: number;
  /** smtp2sms: main thread / work thread / the rest; Kannel: bearerbox / smsbox. */
  cpuSplit: number[];
  benchUs: number;
  p50: number;
  p99: number;
}

async function round(smsc: CountingSmsc, start: (port: number) => Promise<Gateway>): Promise<RoundResult> {
  const gw = await start(smsc.port);
  try {
    // Warm-up (JIT, first binds, first pages of the spool), not measured; it also proves the SMPP bind is up.
    await smsc.take();
    await gw.load(WARMUP, 1_000_000, undefined);
    await smsc.waitFor(WARMUP, 60_000, `${gw.name} warm-up at the SMSC`);
    await new Promise((r) => setTimeout(r, 200));
    await smsc.take();

    // BENCH_PERF=<file>: on-CPU samples of the daemon over the full load (with SMTP2SMS_DAEMON_NODE_ARGS=
    // --perf-basic-prof for JS names), for test/bench/profile-summary.ts.
    const perf =
      process.env.BENCH_PERF && gw.name === 'smtp2sms'
        ? spawn(
            'perf',
            ['record', '-e', 'cpu-clock', '-F', '1999', '-g', '-o', process.env.BENCH_PERF, '-p', String(gw.pids[0])],
            { stdio: 'ignore' },
          )
        : undefined;
    if (perf) await new Promise((r) => setTimeout(r, 500));
    const dbBefore = gw.dbCpu?.() ?? 0;
    const cpuBefore = gw.pids.map(processCpu);
    const threadsBefore = threadCpu(gw.pids[0]!);
    const benchBefore = process.cpuUsage();
    const full = await gw.load(MAILS, 0);
    await smsc.waitFor(full.sent.size, 300_000, `${gw.name}: all SMS at the SMSC`);
    const cpuAfter = gw.pids.map(processCpu);
    const dbAfter = gw.dbCpu?.() ?? 0;
    const threadsAfter = threadCpu(gw.pids[0]!);
    const bench = process.cpuUsage(benchBefore);
    if (perf) {
      const done = new Promise((r) => perf.once('exit', r));
      perf.kill('SIGINT');
      await done;
    }
    const arrivals = await smsc.take();
    const last = Math.max(...arrivals.at);
    const n = full.sent.size;
    const perProcess = cpuAfter.map((c, i) => ((c - cpuBefore[i]!) * 1e6) / n);
    let cpuSplit = perProcess;
    if (gw.name === 'smtp2sms') {
      const pid = gw.pids[0]!;
      const used = [...threadsAfter].map(([tid, s]) => [tid, ((s - (threadsBefore.get(tid) ?? 0)) * 1e6) / n] as const);
      const main = used.find(([tid]) => tid === pid)?.[1] ?? 0;
      const others = used.filter(([tid]) => tid !== pid).sort((a, b) => b[1] - a[1]);
      const work = others[0]?.[1] ?? 0;
      cpuSplit = [main, work, perProcess[0]! - main - work];
    }

    const paced = await gw.load(PACED, MAILS, PACED_RATE);
    await smsc.waitFor(paced.sent.size, 60_000, `${gw.name}: paced SMS at the SMSC`);
    const pacedArrivals = await smsc.take();
    const latencies: number[] = [];
    pacedArrivals.ids.forEach((id, i) => {
      const t = paced.sent.get(id);
      if (t !== undefined) latencies.push(pacedArrivals.at[i]! - t);
    });
    return {
      perSec: n / ((last - full.start) / 1000),
      cpuUs: perProcess.reduce((a, b) => a + b, 0),
      dbUs: ((dbAfter - dbBefore) * 1e6) / n,
      cpuSplit,
      benchUs: (bench.user + bench.system) / n,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    await gw.stop();
  }
}

// ---- smtp2sms on PostgreSQL (reported beside; no target in issue 17) ----

/** CPU seconds of a PostgreSQL server: its postmaster and every process it started that is still running. */
function postgresCpu(pg: OwnPostgres): number {
  const postmaster = Number(readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = processCpu(postmaster);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.split(') ')[1]!.split(' ')[1]) === postmaster) total += processCpu(Number(entry));
    } catch {
      // the process ended between listing and reading
    }
  }
  return total;
}

/** A fresh database on the private server for one round: every round starts from an empty spool. */
async function freshDatabase(pg: OwnPostgres, name: string): Promise<string> {
  const admin = new pgLib.Client({ connectionString: pg.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(pg.url);
  u.pathname = `/${name}`;
  return u.href;
}

// ---- the floor: what an SMTP intake costs in Node.js before smtp2sms does anything ----

interface FloorResult {
  perSec: number;
  cpuUs: number;
}

/**
 * The same SMTP load (connections, mails) against test/bench/ceiling-server.ts in its own process: smtp-server
 * reading and dropping each mail (`parse` false), or smtp-server + mailparser. No spool, no rules, no SMPP: the
 * CPU per message that any smtp2sms built on these libraries pays before its own work (rate: first MAIL → last 250).
 */
async function floorRound(parse: boolean): Promise<FloorResult> {
  const script = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...(parse ? [] : ['--no-parse'])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve) =>
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    const run = smtpLoad(port);
    await run(WARMUP, 1_000_000);
    const before = processCpu(child.pid!);
    const r = await run(MAILS, 0);
    const end = now();
    const cpu = processCpu(child.pid!) - before;
    return { perSec: r.sent.size / ((end - r.start) / 1000), cpuUs: (cpu * 1e6) / r.sent.size };
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * What a durable commit costs this machine's kernel: 300 × (three 4 KB pages written, then fdatasync) in the temp
 * directory the spools use, CPU of this process (idle otherwise) and wall time per commit. SQLite's WAL with
 * synchronous=FULL does one such fdatasync per group commit; Kannel's file store does none per message.
 */
function fsyncCost(): { cpuUs: number; wallMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'fsync-cost-'));
  const fd = openSync(join(dir, 'probe'), 'w');
  const page = Buffer.alloc(3 * 4096, 1);
  const n = 300;
  try {
    const cpu0 = process.cpuUsage();
    const t0 = now();
    for (let i = 0; i < n; i++) {
      writeSync(fd, page);
      fdatasyncSync(fd);
    }
    const cpu = process.cpuUsage(cpu0);
    return { cpuUs: (cpu.user + cpu.system) / n, wallMs: (now() - t0) / n };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- where smtp2sms's CPU goes ----

type ProfileResult = { table: string[]; top: string[]; cpuUs: number } | { error: string };

/**
 * One more smtp2sms round, not counted in the figures, with `perf record` (on-CPU samples of every thread of the
 * daemon over the full load) and --perf-basic-prof for JS names; test/bench/profile-summary.ts charges each sample to
 * a part. Instruction counts (`perf stat -e instructions`) are what the issue suggests, but virtual machines often
 * lack the counter: CPU-clock samples work everywhere perf does.
 */
async function profileRound(smsc: CountingSmsc): Promise<ProfileResult> {
  if (spawnSync('perf', ['--version']).status !== 0) return { error: 'perf is not installed (Debian: linux-perf)' };
  const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-perf-'));
  const saved = { args: process.env.SMTP2SMS_DAEMON_NODE_ARGS, perf: process.env.BENCH_PERF };
  try {
    process.env.SMTP2SMS_DAEMON_NODE_ARGS = `${saved.args ?? ''} --perf-basic-prof`.trim();
    process.env.BENCH_PERF = join(dir, 'perf.data');
    const r = await round(smsc, (port) => startSmtp2sms(port));
    if (!existsSync(process.env.BENCH_PERF)) return { error: 'perf record wrote nothing (perf_event_paranoid?)' };
    const text = join(dir, 'perf.txt');
    const fields = '-F tid,period,ip,sym,dso';
    const script = spawnSync('sh', ['-c', `perf script -i "${process.env.BENCH_PERF}" ${fields} > "${text}"`]);
    if (script.status !== 0) return { error: `perf script failed: ${script.stderr.toString().slice(0, 200)}` };
    return { ...summarize(MAILS, [text]), cpuUs: r.cpuUs };
  } finally {
    if (saved.args === undefined) delete process.env.SMTP2SMS_DAEMON_NODE_ARGS;
    else process.env.SMTP2SMS_DAEMON_NODE_ARGS = saved.args;
    if (saved.perf === undefined) delete process.env.BENCH_PERF;
    else process.env.BENCH_PERF = saved.perf;
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/tmp/perf-${lastDaemonPid}.map`, { force: true });
  }
}

/** The row of one part in the summary table, in µs per message (NaN when absent). */
function partUs(table: string[], part: string): number {
  const row = table.find((l) => l.startsWith(`| ${part}`));
  return Number(row?.split('|')[5]?.trim() ?? NaN);
}

// ---- the report ----

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const withKannel = ONLY !== 'smtp2sms' && kannelInstalled();
  const withSmtp2sms = ONLY !== 'kannel';
  const load0 = loadavg()[0]!;
  console.log(
    `bench:kannel: ${RUNS} rounds × ${MAILS} messages per gateway, ${PACED} more at ${PACED_RATE}/s; ` +
      `${cpus().length} cores (${cpu}), node ${process.version}; load average ${fmt(load0, 2)}`,
  );
  if (!withKannel && ONLY !== 'smtp2sms') {
    console.log(
      'bench:kannel: Kannel is not installed (bearerbox/smsbox not found; Debian: apt-get install kannel): ' +
        'measuring smtp2sms alone',
    );
  }
  // PostgreSQL beside SQLite: a private server with fsync on, started once, a fresh database per round.
  const pg =
    withSmtp2sms && process.env.BENCH_POSTGRES !== '0' && findBinaries() ? await startOwnPostgres() : undefined;
  if (withSmtp2sms && !pg) console.log('bench:kannel: no PostgreSQL binaries (or BENCH_POSTGRES=0): SQLite only');
  const smsc = await CountingSmsc.start();
  const k: RoundResult[] = [];
  const s: RoundResult[] = [];
  const q: RoundResult[] = [];
  const bare: FloorResult[] = [];
  const parsed: FloorResult[] = [];
  const syncs: { cpuUs: number; wallMs: number }[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      // Taken in turn, the first one alternating, so both see the same background on a shared machine.
      const order = i % 2 === 0 ? ['kannel', 'smtp2sms'] : ['smtp2sms', 'kannel'];
      for (const which of order) {
        if (which === 'kannel' && withKannel) k.push(await round(smsc, startKannel));
        if (which === 'smtp2sms' && withSmtp2sms) s.push(await round(smsc, (port) => startSmtp2sms(port)));
      }
      if (pg) {
        const url = await freshDatabase(pg, `bench_round_${i + 1}`);
        q.push(await round(smsc, (port) => startSmtp2sms(port, { url, cpu: () => postgresCpu(pg) })));
      }
      if (withSmtp2sms) {
        bare.push(await floorRound(false));
        parsed.push(await floorRound(true));
        syncs.push(fsyncCost());
      }
      const line = (name: string, r: RoundResult | undefined) =>
        r
          ? `${name} ${fmt(r.perSec)}/s, ${fmt(r.cpuUs)} µs CPU/msg (${r.cpuSplit.map((x) => fmt(x)).join(' + ')}), ` +
            `p50/p99 ${fmt(r.p50, 1)}/${fmt(r.p99, 1)} ms`
          : `${name} -`;
      console.log(`round ${i + 1}/${RUNS}: ${line('Kannel', k[i])}; ${line('smtp2sms', s[i])}`);
      const qi = q[i];
      if (qi) console.log(`  ${line('smtp2sms on PostgreSQL', qi)}, PostgreSQL ${fmt(qi.dbUs)} µs CPU/msg`);
      const fl = (name: string, r: FloorResult | undefined) =>
        r ? `${name} ${fmt(r.perSec)}/s, ${fmt(r.cpuUs)} µs CPU/msg` : `${name} -`;
      console.log(`  floor: ${fl('smtp-server alone', bare[i])}; ${fl('smtp-server + mailparser', parsed[i])}`);
      const sy = syncs[i];
      if (sy) console.log(`  write + fdatasync: ${fmt(sy.cpuUs)} µs CPU, ${fmt(sy.wallMs, 2)} ms`);
    }
  } catch (err) {
    smsc.stop();
    await pg?.destroy();
    throw err;
  }
  await pg?.destroy();
  const load1 = loadavg()[0]!;
  const profile = withSmtp2sms && process.env.BENCH_PROFILE !== '0' ? await profileRound(smsc) : undefined;
  const med = (rs: RoundResult[], f: (r: RoundResult) => number) => (rs.length ? median(rs.map(f)) : NaN);
  const fig = (rs: RoundResult[]) => ({
    perSec: med(rs, (r) => r.perSec),
    cpuUs: med(rs, (r) => r.cpuUs),
    p50: med(rs, (r) => r.p50),
    p99: med(rs, (r) => r.p99),
    split: [0, 1, 2].map((j) => med(rs, (r) => r.cpuSplit[j] ?? NaN)),
    benchUs: med(rs, (r) => r.benchUs),
  });
  const K = fig(k);
  const S = fig(s);
  const Q = fig(q);
  const qDb = q.length ? median(q.map((r) => r.dbUs)) : NaN;
  const floorFig = (rs: FloorResult[]) => ({
    perSec: rs.length ? median(rs.map((r) => r.perSec)) : NaN,
    cpuUs: rs.length ? median(rs.map((r) => r.cpuUs)) : NaN,
  });
  const B = floorFig(bare);
  const P = floorFig(parsed);
  const sync = {
    cpuUs: syncs.length ? median(syncs.map((x) => x.cpuUs)) : NaN,
    wallMs: syncs.length ? median(syncs.map((x) => x.wallMs)) : NaN,
  };
  const rate = S.perSec / K.perSec;
  const cpuRatio = S.cpuUs / K.cpuUs;
  const met = (ok: boolean) => (Number.isNaN(rate) ? 'no Kannel' : ok ? '**met**' : '**not met**');
  const targets = [
    `rate ${fmt(rate, 2)}× Kannel's (target ≥ 1.25×): ${met(rate >= 1.25)}`,
    `CPU per message ${fmt(cpuRatio, 2)}× Kannel's (target ≤ 0.8×): ${met(cpuRatio <= 0.8)}`,
    `p99 at ${PACED_RATE}/s ${fmt(S.p99, 1)} ms vs Kannel's ${fmt(K.p99, 1)} ms (target ≤): ${met(S.p99 <= K.p99)}`,
  ];
  for (const t of targets) console.log(`bench:kannel: ${t.replaceAll('**', '')}`);
  smsc.stop();
  if (profile && 'table' in profile) console.log(profile.table.join('\n'));
  if (ONLY) return process.exit(0);

  const rows = (name: string, rs: RoundResult[]) =>
    rs.map(
      (r, i) =>
        `| ${i + 1} | ${name} | ${fmt(r.perSec)} | ${fmt(r.cpuUs)}${r.dbUs > 0 ? ` + PostgreSQL ${fmt(r.dbUs)}` : ''} | ` +
        `${fmt(r.p50, 1)} / ${fmt(r.p99, 1)} | ` +
        `${fmt(r.benchUs)} |`,
    );
  const sizes = `BENCH_MAILS=${MAILS} BENCH_RUNS=${RUNS} BENCH_PACED=${PACED} BENCH_WARMUP=${WARMUP}`;
  const cmd = `${sizes} npm run bench:kannel`;
  const kSplit = `bearerbox ${fmt(K.split[0]!)}, smsbox ${fmt(K.split[1]!)}`;
  const sSplit = `main ${fmt(S.split[0]!)}, work ${fmt(S.split[1]!)}, other threads ${fmt(S.split[2]!)}`;
  const lat = (f: { p50: number; p99: number }) => `${fmt(f.p50, 1)} / ${fmt(f.p99, 1)}`;
  const md = `## Side by side with Kannel (npm run bench:kannel)

Command: \`${cmd}\`. Machine: ${cpus().length} cores (${cpu}), Node.js ${process.version}, commit ${commitId()},
${new Date().toISOString().slice(0, 10)}; load average ${fmt(load0, 2)} at the start, ${fmt(load1, 2)} at the end
(a shared machine: compare the ratios, not the absolute figures).
${withKannel ? '' : '\n**Kannel was not installed: smtp2sms measured alone.**\n'}
Set-up (issue 17): one counting SMSC for both (test/bench/counting-smsc.ts, its own process: a raw-socket SMPP
responder that answers every submit_sm at once, no receipts, and stamps each arrival). Kannel ${kannelVersion()}
(Debian): bearerbox + smsbox, \`store-type = file\` in a temp dir, one SMPP transceiver, \`max-pending-submits = 100\`,
log-level 3, no receipts; HTTP sendsms over ${HTTP_CONNECTIONS} keep-alive connections (node's http.Agent). smtp2sms:
dist/cli.js as installed, its default config apart from the SMTP listener, SMSC address and spool path, with
\`smpp.registered_delivery: 0\` and \`policy.flood_max: 0\`, log level as shipped (info, JSON lines to a pipe);
${SMTP_CONNECTIONS} SMTP connections, one transaction at a time each (MAIL/RCPT/DATA pipelined). Each round starts both
gateways afresh, in turn (the first alternating), warms each up with ${WARMUP} messages, then sends ${fmt(MAILS)} as
fast as they go — rate: first request → last submit_sm at the SMSC; CPU: utime + stime of the gateway's processes
(bearerbox + smsbox; the daemon's threads) over that load, per message — then ${fmt(PACED)} at ${PACED_RATE}/s for the
latency: request sent (SMTP: MAIL FROM written; HTTP: GET written) → submit_sm at the SMSC.

| round | gateway | messages/s | CPU µs/message | p50 / p99 ms at ${PACED_RATE}/s | load generator µs/message |
| --- | --- | ---: | ---: | ---: | ---: |
${[...rows('Kannel', k), ...rows('smtp2sms', s), ...rows('smtp2sms on PostgreSQL', q)].join('\n')}
| median | Kannel | ${fmt(K.perSec)} | ${fmt(K.cpuUs)} (${kSplit}) | ${lat(K)} | ${fmt(K.benchUs)} |
| median | smtp2sms | ${fmt(S.perSec)} | ${fmt(S.cpuUs)} (${sSplit}) | ${lat(S)} | ${fmt(S.benchUs)} |
${q.length ? `| median | smtp2sms on PostgreSQL | ${fmt(Q.perSec)} | ${fmt(Q.cpuUs)} + PostgreSQL ${fmt(qDb)} | ${lat(Q)} | ${fmt(Q.benchUs)} |\n` : ''}
smtp2sms on PostgreSQL (issue 17: reported beside, no target): the same daemon and load with \`spool.backend:
postgres\` on a fresh database of a private PostgreSQL server (${pgVersion()}, \`fsync = on\`, its defaults
otherwise) started by the bench on this machine, one round after each SQLite round; its CPU column adds the
server's processes (postmaster and backends) apart from the daemon's.${q.length ? '' : ' **Not measured: no PostgreSQL binaries found.**'}

Targets (issue 17, all in the same run): ${targets.map((t) => `\n- ${t}`).join('')}

### The floor: an SMTP intake in Node.js before smtp2sms does anything

The same SMTP load (${SMTP_CONNECTIONS} connections, the same mails, ${fmt(MAILS)} per round after ${WARMUP} to warm up)
against test/bench/ceiling-server.ts in its own process: smtp-server reading and dropping each mail, then
smtp-server + mailparser. No spool, rules or SMPP. Rate: first MAIL → last 250; CPU: the process's utime + stime.

| round | smtp-server alone: messages/s | CPU µs/message | smtp-server + mailparser: messages/s | CPU µs/message |
| --- | ---: | ---: | ---: | ---: |
${bare.map((b, i) => `| ${i + 1} | ${fmt(b.perSec)} | ${fmt(b.cpuUs)} | ${fmt(parsed[i]!.perSec)} | ${fmt(parsed[i]!.cpuUs)} |`).join('\n')}
| median | ${fmt(B.perSec)} | ${fmt(B.cpuUs)} | ${fmt(P.perSec)} | ${fmt(P.cpuUs)} |

A durable commit on this machine (three 4 KB pages written, then fdatasync, 300 times in the spools' temp
directory; median of the rounds): ${fmt(sync.cpuUs)} µs of CPU and ${fmt(sync.wallMs, 2)} ms per commit. SQLite's WAL
with synchronous=FULL pays one per group commit (a few mails each at this load); Kannel's file store pays none per
message.

The CPU target (≤ 0.8× Kannel's) leaves ${fmt(K.cpuUs * 0.8)} µs per message for everything. smtp-server alone,
doing nothing with the mail, used ${fmt(B.cpuUs)} µs (${fmt(B.cpuUs / K.cpuUs, 2)}× Kannel's whole path), and with
mailparser ${fmt(P.cpuUs)} µs (${fmt(P.cpuUs / K.cpuUs, 2)}×). Its rate alone was ${fmt(B.perSec / K.perSec, 2)}×
Kannel's; the target for the whole path is ≥ 1.25×.
`;
  writeSection('kannel', `${md}\n${whereTheCpuGoes(profile, S.cpuUs, K.cpuUs, B.cpuUs)}`);
  console.log('written to BENCHMARKS.md');
  process.exit(0);
}

function whereTheCpuGoes(
  profile: ProfileResult | undefined,
  smtp2smsUs: number,
  kannelUs: number,
  floorUs: number,
): string {
  const head = "### Where smtp2sms's CPU goes, per message\n\n";
  if (!profile) return `${head}Not profiled (BENCH_PROFILE=0).\n`;
  if ('error' in profile) return `${head}Not profiled: ${profile.error}.\n`;
  const t = profile.table;
  const top = profile.top
    .slice(0, 8)
    .map((l) => l.trim().replace(/\s+/, ' '))
    .join('; ');
  const u = (part: string) => fmt(partUs(t, part));
  const ownRuntime = partUs(t, 'GC') + partUs(t, 'JIT compiler') + partUs(t, 'other (Node.js and V8 runtime, malloc)');
  const budget = kannelUs * 0.8;
  const rest =
    partUs(t, 'all') - partUs(t, 'SMTP protocol (smtp-server)') - partUs(t, 'socket I/O (reads, writes, syscalls)');
  return `${head}Measured: one more smtp2sms round after the figures (same load, ${fmt(MAILS)} messages, not counted
above), the daemon run with \`--perf-basic-prof\` and \`perf record -e cpu-clock -F 1999 -g\` on all its threads over
the full load; every on-CPU sample is charged to the nearest frame on its stack that belongs to a part
(test/bench/profile-summary.ts: Node's buffer, malloc and syscall work counts for the part that called it). The
daemon used ${fmt(profile.cpuUs)} µs per message in that round by /proc. Main thread: SMTP; work thread: parsing,
rules, spool, SMPP; helpers: V8's GC and compiler threads, libuv's pool. (\`perf stat -e instructions\` is not
supported on this virtual machine, and \`--cpu-prof\` counts a thread blocked in fsync as busy, so neither is used.)

${t.join('\n')}

Heaviest leaf functions (µs per message): ${top}.

What is left, largest first (from this profile; Kannel's whole path costs ${fmt(kannelUs)} µs per message,
smtp2sms's ${fmt(smtp2smsUs)}):
1. **Spool** (${u('spool (better-sqlite3, SQLite, src/spool)')} µs): one insert per mail (the sms row and its
   indexes, the mail's facts, the DSN row) and one update plus an SMSC-id row per submit, all group-committed (the
   relay's outcomes ride on the next accept's commit). About a third is the kernel (WAL page writes, fdatasync: see
   the floor above), a third SQLite. The web page's count indexes carry the state, so a submit rewrites four index
   entries; taking the state out would save an estimated 10 µs and slow the page's counts (issue 16's targets).
2. **V8 runtime: GC, JIT, property lookups and malloc** (${fmt(ownRuntime)} µs together): JIT is mostly warm-up
   and falls with longer runs; the young generation is kept small for the memory targets (a bigger one trades RSS
   for a few µs).
3. **SMTP path on the main thread** (SMTP ${u('SMTP protocol (smtp-server)')} µs, socket I/O
   ${u('socket I/O (reads, writes, syscalls)')} µs): smtp-server's command parsing and the socket's syscalls, already
   one write per pipelined group (src/io/cork.ts). The floor above is the same exchange without smtp2sms's
   hooks; the daemon's main thread (its column above) adds the recipient's number parsed at RCPT, the hand-off
   of each mail to the work thread and back, and more socket and event-loop work per mail than the floor's.
4. **Hand-off between the threads** (${u('thread hand-off (src/worker, postMessage)')} µs, plus wake-ups in the
   event-loop row): calls and answers are batched per tick (src/worker/rpc.ts); what remains is the structured clone
   of each mail and answer, and waking the other thread.
5. **SMPP** (${u('SMPP (node-smpp, src/smpp)')} µs): node-smpp's generic PDU codec, writes already corked per turn.
6. **SMS text** (${u('SMS text (src/sms, libphonenumber)')} µs): libphonenumber's parse of each recipient at RCPT
   and the text's preparation and encoding.
7. **Logging** (${u('logging (pino, sonic-boom, src/log)')} µs at info, two lines per message: accepted, submitted).

Against the target: it leaves ${fmt(budget)} µs per message; smtp-server alone takes ${fmt(floorUs)} of them (the
floor above), so everything else (parsing, rules, the SMS text, the durable commit, SMPP, the thread hand-off,
logging, and their share of GC and JIT) would have to fit in ${fmt(budget - floorUs)} µs. In this profile that part measures
${fmt(rest)} µs (${fmt(rest / (budget - floorUs), 1)}× what is left), the spool alone ${u('spool (better-sqlite3, SQLite, src/spool)')}.
`;
}

/** The private PostgreSQL server's version, from its binaries. */
function pgVersion(): string {
  const bin = findBinaries();
  if (!bin) return 'none';
  const out = spawnSync(join(bin.binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return out.trim().replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL ') || 'PostgreSQL';
}

function kannelVersion(): string {
  try {
    const out = spawnSync('bearerbox', ['--version'], { encoding: 'utf8' });
    return /version `([^']+)'/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? '';
  } catch {
    return '';
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
