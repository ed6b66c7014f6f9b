/**
 * The spool's own thread: one SQLite connection, every write group-committed (SqliteSpool.batch), so fsyncs and
 * checkpoints run beside the SMTP and SMPP work instead of stalling it. Messages: { id, op, args } in,
 * { id, value } or { id, error } out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteSpool } from './sqlite.js';
import type { Spool } from './types.js';

export type SpoolOp = Exclude<keyof Spool, 'close'> | 'pragma' | 'close';

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
const port = parentPort!;

let spool: SqliteSpool;
try {
  spool = new SqliteSpool(path, busyTimeoutMs);
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message });
  process.exit(1);
}

/** Writes go through the group commit; reads run at once. */
const ops: Record<SpoolOp, (...args: never[]) => unknown> = {
  accept: (rows, now) => spool.batch(() => spool.accept(rows, now)),
  claim: (limit, now) => spool.batch(() => spool.claim(limit, now)),
  submitted: (id: number, part: number, smscId: string, last: boolean, now: number) =>
    spool.batch(() => {
      spool.recordPart(id, part, smscId, now);
      if (last) spool.markSubmitted(id, now);
    }),
  reschedule: (...a: Parameters<SqliteSpool['reschedule']>) => spool.batch(() => spool.reschedule(...a)),
  finish: (...a: Parameters<SqliteSpool['finish']>) => spool.batch(() => spool.finish(...a)),
  applyReceipt: (...a: Parameters<SqliteSpool['applyReceipt']>) => spool.batch(() => spool.applyReceipt(...a)),
  storeInbound: (...a: Parameters<SqliteSpool['storeInbound']>) => spool.batch(() => spool.storeInbound(...a)),
  requeueSending: (now: number) => spool.batch(() => spool.requeueSending(now)),
  expireQueued: (...a: Parameters<SqliteSpool['expireQueued']>) => spool.batch(() => spool.expireQueued(...a)),
  prune: (before: number) => spool.batch(() => spool.prune(before)),
  nextDue: () => spool.nextDue(),
  pendingCount: () => spool.pendingCount(),
  countsByState: () => spool.countsByState(),
  oldestQueuedAt: () => spool.oldestQueuedAt(),
  byQueueId: (queueId: string) => spool.byQueueId(queueId),
  // Diagnostics and fault injection in tests (query_only, max_page_count …).
  pragma: (text: string) => spool.db.pragma(text),
  close: () => spool.close(),
};

type Reply = { id: number; value?: unknown; error?: { name: string; message: string } };
let replies: Reply[] = [];
function reply(r: Reply): void {
  // Answers of one tick travel together, like the calls did.
  if (replies.length === 0) setImmediate(() => {
    const out = replies;
    replies = [];
    port.postMessage(out);
  });
  replies.push(r);
}

port.on('message', (calls: Array<{ id: number; op: SpoolOp; args: unknown[] }>) => {
  for (const call of calls) {
    Promise.resolve()
      .then(() => (ops[call.op] as (...a: unknown[]) => unknown)(...call.args))
      .then(
        (value) => reply({ id: call.id, value }),
        (err: unknown) => {
          const e = err as Error & { cause?: unknown };
          reply({ id: call.id, error: { name: e.name, message: (e.cause as Error)?.message ?? e.message } });
        },
      );
  }
});
