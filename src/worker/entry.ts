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
import type { BindHealth, ClusterStatus } from '../ops/health.js';
import { openWorkSpool, type WorkSpool } from '../spool/open.js';
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

const { path, busyTimeoutMs, config, logLevel, logPretty } = workerData as WorkThreadOptions;
const port = parentPort!;
const log = createLogger(logLevel, { pretty: logPretty }).child({ node: config.node.id });

// Registered with the thread's metrics below (they are made after the spool opens).
const clockSkew = new Gauge({
  name: 'smtp2sms_cluster_clock_offset_seconds',
  help: "The database's clock minus this node's, as last measured (0 on SQLite); over cluster.max_clock_skew_s: 451",
  registers: [],
});
let opened: WorkSpool;
let spool: LocalSpool;
/** The database's time on a cluster node (corrected by the measured offset); this machine's for one node alone. */
let clock: () => number;
let delivery: Delivery | undefined;
try {
  opened = await openWorkSpool({ config, path, busyTimeoutMs, log, onOffset: (ms) => clockSkew.set(ms / 1000) });
  clock = opened.clock;
  spool = new LocalSpool(opened.store, clock, log);
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
    // Replies mailed back into the thread: on by default when there is a smarthost.
    ...(config.outbound.smtp_url && config.replies.enabled !== false
      ? { inbound: replyHandler(spool.store, config, log.child({ component: 'replies' })) }
      : {}),
  },
};
// Delivery reports and reply mails go out through the smarthost; without one, none are made.
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
let holder: ReturnType<NonNullable<WorkSpool['cluster']>['holdBinds']> | undefined;
const cluster = opened.cluster;
if (cluster) {
  const pgStore = cluster.store;
  bindHolder.set({ node: config.node.id }, 0);
  // A standby announces what it queues; the holder does not need to (its own accepts wake its relay).
  pgStore.announceQueued = true;
  // A deposed holder's late outcome (it was fenced while the write was under way): refused by the database, told.
  pgStore.onFenced = (o) =>
    log.warn(
      { id: o.id, what: o.op, ...(o.op === 'submitted' ? { part: o.part, smscId: o.smscId } : {}) },
      'send outcome refused: this node no longer owns the row (another node took it over); the SMSC id is kept',
    );
  holder = cluster.holdBinds({
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
    writable: () => spool.store.writable(),
    role: () => (cluster ? (holder?.holding ? 'holder' : 'standby') : 'single'),
    clock: () => {
      const problem = opened.problem();
      return { offsetMs: opened.offsetMs(), ...(problem ? { problem } : {}) };
    },
    metrics: () => m.registry.metrics(),
    binds: (): BindHealth[] => bindList().map(({ name, mode, up }) => ({ name, mode, up })),
    cluster: async (): Promise<ClusterStatus | undefined> =>
      cluster ? { node: config.node.id, holding: holder?.holding ?? false, ...(await cluster.view()) } : undefined,
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
