/**
 * The work thread: it owns the spool (one SQLite connection, writes group-committed), turns received mail into
 * spooled SMS (the intake) and runs the SMPP side (binds, relay, receipts) over the same spool, so neither the
 * relay's many small spool calls nor an accept costs a thread hop. The main thread only speaks SMTP. (Parsing on
 * the main thread was measured too: no faster within this machine's noise, and its heap grew ~30 MB more.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Gauge } from 'prom-client';
import type { Config } from '../config/schema.js';
import { createLogger } from '../ops/log.js';
import { deliveryMetrics } from '../ops/metrics.js';
import { CODING_NAMES } from '../sms/encode.js';
import { createRefCounter } from '../sms/segment.js';
import { acceptMail, type Submission } from '../smtp/intake.js';
import { startDelivery, type Delivery, type DeliveryEvents } from '../smpp/start.js';
import { LocalSpool } from '../spool/local.js';
import { SPOOL_OPERATIONS } from '../spool/operations.js';
import { openPool } from '../spool/postgres/connect.js';
import { DbClock } from '../spool/postgres/db-clock.js';
import { SCHEMA_VERSION, schemaVersion } from '../spool/postgres/migrations.js';
import { PostgresStore } from '../spool/postgres/store.js';
import { SqliteSpool } from '../spool/sqlite/store.js';
import { BindHolder } from './bind-holder.js';
import { clusterView, type ClusterView } from '../spool/postgres/cluster-view.js';
import { OutboxSender } from '../outbox/sender.js';
import { replyHandler } from '../outbox/replies.js';
import { serveRpc, type Ops } from './rpc.js';

export interface WorkThreadOptions {
  path: string;
  busyTimeoutMs: number;
  config: Config;
  logLevel: string;
  logPretty: boolean;
}

/** The status page's view of several nodes on one database (undefined with SQLite: one node, its own binds). */
export interface ClusterStatus extends ClusterView {
  node: string;
  /** This node relays (holds the binds) now. */
  holding: boolean;
}

export interface BindHealth {
  name: string;
  mode: string;
  up: boolean;
}

const { path, busyTimeoutMs, config, logLevel, logPretty } = workerData as WorkThreadOptions;
const port = parentPort!;
const log = createLogger(logLevel, { pretty: logPretty }).child({ node: config.node.id });

let store: SqliteSpool | PostgresStore;
/** The database's time on a cluster node (corrected by the measured offset); this machine's alone on SQLite. */
let clock: () => number = Date.now;
let dbClock: DbClock | undefined;
let lastClockProblem: string | undefined;
let schemaProblem: string | undefined;
const CLOCK_EVERY_MS = 5000;
// Registered with the thread's metrics below (they are made after the spool opens).
const clockSkew = new Gauge({
  name: 'smtp2sms_cluster_clock_offset_seconds',
  help: "The database's clock minus this node's, as last measured (0 on SQLite); over cluster.max_clock_skew_s: 451",
  registers: [],
});
let spool: LocalSpool;
let delivery: Delivery | undefined;
try {
  if (config.spool.backend === 'postgres') {
    // The daemon has checked the database and migrated its schema before starting this thread.
    const node = config.node.id;
    store = new PostgresStore(openPool(config.spool, log, node), node, config.cluster.lease_s * 1000);
  } else {
    const sqlite = new SqliteSpool(path, busyTimeoutMs);
    sqlite.onLost = (reason) =>
      log.error({ spool: path }, `${reason}: mail gets 451 4.3.0 and /healthz fails until a restart`);
    store = sqlite;
  }
  if (store instanceof PostgresStore) {
    // Every time this thread writes or judges is the database's (db-clock.ts): measured before the first mail.
    dbClock = new DbClock(store.pool, config.cluster.max_clock_skew_s * 1000, CLOCK_EVERY_MS, Date.now, (r) => {
      clockSkew.set(r.offsetMs / 1000);
      const problem = dbClock?.problem();
      if (problem && problem !== lastClockProblem)
        log.error({ offsetMs: Math.round(r.offsetMs) }, `${problem}: mail gets 451`);
      if (!problem && lastClockProblem)
        log.info({ offsetMs: Math.round(r.offsetMs) }, 'clock back within cluster.max_clock_skew_s');
      lastClockProblem = problem;
    });
    await dbClock.start();
    clock = dbClock.now;
    // A newer smtp2sms migrated the schema under this one: it stops taking mail and says why (a restart on the
    // new version fixes it).
    const pgPool = store.pool;
    const watch = setInterval(() => {
      void (async () => {
        const c = await pgPool.connect();
        try {
          const v = await schemaVersion(c);
          const problem =
            v > SCHEMA_VERSION
              ? `the spool's schema is version ${v}, newer than this smtp2sms knows (${SCHEMA_VERSION}): upgrade this node`
              : undefined;
          if (problem && !schemaProblem) log.error(`${problem}; mail gets 451 until then`);
          schemaProblem = problem;
        } finally {
          c.release();
        }
      })().catch(() => undefined);
    }, CLOCK_EVERY_MS);
    watch.unref();
  }
  spool = new LocalSpool(store, clock, log);
  // One node alone: what it was sending when it stopped is its own. In a cluster a row is orphaned only once its
  // holder lost the binds lease: the node that takes the lease requeues them (never a standby at its start).
  if (store instanceof SqliteSpool) {
    const requeued = await spool.requeueSending(Date.now());
    if (requeued > 0) log.warn({ requeued }, 'messages caught mid-send by the last stop go out again (at-least-once)');
  }
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message });
  process.exit(1);
}

const nextRef = createRefCounter();
const bindList = () =>
  (delivery?.binds ?? []).map((b) => ({
    name: b.opts.name,
    mode: b.opts.mode,
    up: b.isBound,
    reconnects: b.reconnects,
  }));
const m = deliveryMetrics({
  counts: () => spool.countsByState(),
  oldestQueuedAt: () => spool.oldestQueuedAt(),
  binds: bindList,
});
m.registry.registerMetric(clockSkew);

const relayEvents: DeliveryEvents = {
  relay: {
    submitted: (row, _part, latencyMs) => {
      m.parts.inc({ encoding: CODING_NAMES[row.coding] });
      m.latency.observe(latencyMs / 1000);
    },
    throttled: () => m.throttled.inc(),
    finished: (_row, state) => m.finished.inc({ state }),
  },
  deliver: {
    receipt: (receipt) => m.receipts.inc({ stat: receipt.stat }),
    // Replies mailed back into the thread (issue 15): on by default when there is a smarthost.
    ...(config.outbound.smtp_url && config.replies.enabled !== false
      ? { inbound: replyHandler(spool.store, config, log.child({ component: 'replies' })) }
      : {}),
  },
};
// Delivery reports and reply mails go out through the smarthost (issue 15); without one, none are made.
const outboxSender = config.outbound.smtp_url
  ? new OutboxSender(spool.store, config, log.child({ component: 'outbox' }), m.registry, clock)
  : undefined;
outboxSender?.start();
// Which node holds the SMPP binds (PostgreSQL: one node of the cluster at a time; SQLite: always this one).
const bindHolder = new Gauge({
  name: 'smtp2sms_cluster_bind_holder',
  help: '1 while this node holds the SMPP binds and relays, 0 while it stands by',
  labelNames: ['node'] as const,
  registers: [m.registry],
});
let holder: BindHolder | undefined;
if (store instanceof PostgresStore) {
  const pgStore = store;
  bindHolder.set({ node: config.node.id }, 0);
  // A standby announces what it queues; the holder does not need to (its own accepts wake its relay).
  pgStore.announceQueued = true;
  // A deposed holder's late outcome (it was fenced while the write was under way): refused by the database, told.
  pgStore.onFenced = (o) =>
    log.warn(
      { id: o.id, what: o.op, ...(o.op === 'submitted' ? { part: o.part, smscId: o.smscId } : {}) },
      'send outcome refused: this node no longer owns the row (another node took it over); the SMSC id is kept',
    );
  holder = new BindHolder({
    config,
    store: pgStore,
    log,
    startRelay: (mayAct) => {
      delivery = startDelivery(config, log, spool, relayEvents, clock, mayAct);
    },
    stopRelay: async (timeoutMs = 0) => {
      const d = delivery;
      delivery = undefined;
      await d?.stop(timeoutMs);
    },
    now: () => clock(),
    abortRelay: async () => {
      const d = delivery;
      delivery = undefined;
      await d?.abort();
    },
    onChange: (holding) => {
      pgStore.announceQueued = !holding;
      bindHolder.set({ node: config.node.id }, holding ? 1 : 0);
    },
    onQueuedElsewhere: () => spool.queuedElsewhere(),
  });
  holder.start();
} else {
  bindHolder.set({ node: config.node.id }, 1);
  delivery = startDelivery(config, log, spool, relayEvents);
}

// Every Spool operation, served under its name (SPOOL_OPERATIONS is the one list the client is made from too).
const spoolOps = Object.fromEntries(SPOOL_OPERATIONS.map((op) => [op, spool[op]])) as Ops;

serveRpc(
  port,
  {
    ...spoolOps,
    // Diagnostics and fault injection in tests (query_only, max_page_count …).
    pragma: (text: string) => (store instanceof SqliteSpool ? store.db.pragma(text) : undefined),
    writable: () => spool.store.writable(),
    role: () => (store instanceof PostgresStore ? (holder?.holding ? 'holder' : 'standby') : 'single'),
    clock: () => {
      const problem = dbClock?.problem() ?? schemaProblem;
      return { offsetMs: dbClock?.offsetMs ?? 0, ...(problem ? { problem } : {}) };
    },
    metrics: () => m.registry.metrics(),
    binds: (): BindHealth[] => bindList().map(({ name, mode, up }) => ({ name, mode, up })),
    cluster: async (): Promise<ClusterStatus | undefined> =>
      store instanceof PostgresStore
        ? { node: config.node.id, holding: holder?.holding ?? false, ...(await clusterView(store.pool)) }
        : undefined,
    stopDelivery: async (timeoutMs: number) => {
      await Promise.all([holder ? holder.stop(timeoutMs) : delivery?.stop(timeoutMs), outboxSender?.stop()]);
    },
    /** A received mail → spooled SMS and the SMTP reply; `bindings` are the SMTP session's log fields. */
    intake: async (sub: Submission, bindings: Record<string, unknown>) => {
      // The mail arrives as a Uint8Array (structured clone): a Buffer view of it, not a copy.
      const raw = Buffer.from(sub.raw.buffer, sub.raw.byteOffset, sub.raw.byteLength);
      const result = await acceptMail(
        { ...sub, raw },
        { config, spool, now: clock, nextRef, log: log.child(bindings) },
      );
      // The intake answers a spool failure with 451 instead of throwing it: count it here.
      if (result.reply.code === 451) m.spoolErrors.inc();
      return result;
    },
  },
  (err) => {
    if (err.name === 'SpoolError') m.spoolErrors.inc();
  },
);
port.postMessage({ ready: true });
