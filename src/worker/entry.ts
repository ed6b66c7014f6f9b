/**
 * The work thread: it owns the spool (one SQLite connection, writes group-committed) and, in the daemon, turns
 * received mail into spooled SMS (the intake) and runs the SMPP side (binds, relay, receipts). The main thread
 * only speaks SMTP. Calls arrive as batches of { id, op, args } and are answered as batches of { id, value } or
 * { id, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../ops/log.js';
import { deliveryMetrics, type DeliveryMetrics } from '../ops/metrics.js';
import { CODING_NAMES } from '../sms/encode.js';
import { createRefCounter } from '../sms/segment.js';
import { startDelivery, type Delivery } from '../smpp/start.js';
import { acceptMail, type Submission } from '../smtp/intake.js';
import { LocalSpool } from '../spool/local.js';
import { SqliteSpool } from '../spool/sqlite.js';
import { SpoolError, type Spool } from '../spool/types.js';

export type WorkOp = Exclude<keyof Spool, 'close'> | 'intake' | 'pragma' | 'metrics' | 'health' | 'stopDelivery' | 'close';

export interface Health {
  spoolWritable: boolean;
  binds: Array<{ name: string; mode: string; up: boolean }>;
}

export interface WorkerOptions {
  path: string;
  busyTimeoutMs: number;
  /** With a config, this thread also runs the SMPP delivery. */
  delivery?: { config: Config; logLevel: string; logPretty: boolean };
}

const options = workerData as WorkerOptions;
const port = parentPort!;

let spool: LocalSpool;
let delivery: Delivery | undefined;
let log: Logger | undefined;
let metrics: DeliveryMetrics | undefined;
const nextRef = createRefCounter();
try {
  spool = new LocalSpool(new SqliteSpool(options.path, options.busyTimeoutMs));
  if (options.delivery) {
    const { config, logLevel, logPretty } = options.delivery;
    log = createLogger(logLevel, { pretty: logPretty });
    const requeued = await spool.requeueSending(Date.now());
    if (requeued > 0) log.warn({ requeued }, 'messages caught mid-send by the last stop go out again (at-least-once)');
    const m = deliveryMetrics({
      counts: () => spool.countsByState(),
      oldestQueuedAt: () => spool.oldestQueuedAt(),
      binds: () => (delivery?.binds ?? []).map((b) => ({ name: b.opts.name, mode: b.opts.mode, up: b.isBound, reconnects: b.reconnects })),
    });
    metrics = m;
    delivery = startDelivery(config, log, spool, {
      relay: {
        submitted: (row, _part, latencyMs) => {
          m.parts.inc({ encoding: CODING_NAMES[row.coding] });
          m.latency.observe(latencyMs / 1000);
        },
        throttled: () => m.throttled.inc(),
        finished: (_row, state) => m.finished.inc({ state }),
      },
      deliver: { receipt: (receipt) => m.receipts.inc({ stat: receipt.stat }) },
    });
  }
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message });
  process.exit(1);
}

const accept: Spool['accept'] = (rows, now, rules) => (delivery ? delivery.accept(rows, now, rules) : spool.accept(rows, now, rules));

const ops: Record<WorkOp, (...args: never[]) => unknown> = {
  accept,
  /** A received mail → spooled SMS and the SMTP reply; `bindings` are the SMTP session's log fields. */
  intake: (sub: Submission, bindings: Record<string, unknown>) => {
    const config = options.delivery?.config;
    if (!config || !log) throw new Error('intake needs the daemon configuration');
    return acceptMail({ ...sub, raw: Buffer.from(sub.raw) }, { config, spool: { accept }, now: Date.now, nextRef, log: log.child(bindings) }).then((r) => {
      if (r.reply.code === 451) metrics?.spoolErrors.inc();
      return r;
    });
  },
  recentAccepted: spool.recentAccepted,
  acceptedSince: spool.acceptedSince,
  claim: spool.claim,
  submitted: spool.submitted,
  reschedule: spool.reschedule,
  finish: spool.finish,
  applyReceipt: spool.applyReceipt,
  storeInbound: spool.storeInbound,
  requeueSending: spool.requeueSending,
  expireQueued: spool.expireQueued,
  prune: spool.prune,
  nextDue: spool.nextDue,
  pendingCount: spool.pendingCount,
  countsByState: spool.countsByState,
  oldestQueuedAt: spool.oldestQueuedAt,
  byQueueId: spool.byQueueId,
  // Diagnostics and fault injection in tests (query_only, max_page_count …).
  pragma: (text: string) => spool.store.db.pragma(text),
  metrics: () => metrics?.registry.metrics() ?? '',
  health: (): Health => ({
    spoolWritable: spool.store.writable(),
    binds: (delivery?.binds ?? []).map((b) => ({ name: b.opts.name, mode: b.opts.mode, up: b.isBound })),
  }),
  stopDelivery: (timeoutMs: number) => delivery?.stop(timeoutMs),
  close: () => spool.close(),
};

type Reply = { id: number; value?: unknown; error?: { name: string; message: string } };
let replies: Reply[] = [];
function reply(r: Reply): void {
  // Answers of one tick travel together, like the calls did.
  if (replies.length === 0) {
    setImmediate(() => {
      const out = replies;
      replies = [];
      port.postMessage(out);
    });
  }
  replies.push(r);
}

port.on('message', (calls: Array<{ id: number; op: WorkOp; args: unknown[] }>) => {
  for (const call of calls) {
    Promise.resolve()
      .then(() => (ops[call.op] as (...a: unknown[]) => unknown)(...call.args))
      .then(
        (value) => reply({ id: call.id, value }),
        (err: unknown) => {
          const e = err as Error & { cause?: unknown };
          if (e instanceof SpoolError) metrics?.spoolErrors.inc();
          reply({ id: call.id, error: { name: e.name, message: (e.cause as Error)?.message ?? e.message } });
        },
      );
  }
});
