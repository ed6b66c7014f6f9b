/**
 * The work thread as the main thread sees it: the Spool interface, the intake, metrics and health, served by
 * worker/entry.ts. Calls made in one tick travel in one message.
 */
import { Worker } from 'node:worker_threads';
import type { Health, WorkOp, WorkerOptions } from './entry.js';
import type { IntakeResult, Submission } from '../smtp/intake.js';
import { SpoolError, type Spool } from '../spool/types.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class WorkThread implements Spool {
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private closed = false;
  /** Calls made in this tick, posted together: one postMessage per tick instead of one per call. */
  private outbox: Array<{ id: number; op: WorkOp; args: unknown[] }> = [];

  /** Called once if the thread ends without close(): the daemon cannot deliver any more. */
  onDeath: ((reason: string) => void) | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msgs: Array<{ id: number; value?: unknown; error?: { name: string; message: string } }> | { ready: boolean }) => {
      if (!Array.isArray(msgs)) return;
      for (const msg of msgs) {
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(msg.error.name === 'SpoolError' ? new SpoolError(new Error(msg.error.message)) : new Error(msg.error.message));
        else p.resolve(msg.value);
      }
    });
    worker.on('error', (err) => this.die(`work thread failed: ${err.message}`));
    worker.on('exit', (code) => this.die(`work thread exited (code ${code})`));
  }

  /** Start the spool thread; rejects with the reason when the spool cannot be opened. */
  static start(options: WorkerOptions): Promise<WorkThread> {
    // Under vitest this module runs from src/ (TypeScript); a worker needs the built JavaScript in dist/.
    const file = import.meta.url.endsWith('.ts') ? new URL('../../dist/worker/entry.js', import.meta.url) : new URL('./entry.js', import.meta.url);
    const worker = new Worker(file, { workerData: options });
    return new Promise((resolve, reject) => {
      worker.once('message', (msg: { ready: boolean; error?: string }) =>
        msg.ready ? resolve(new WorkThread(worker)) : reject(new Error(`cannot open the spool ${options.path}: ${msg.error}`)),
      );
      worker.once('error', reject);
    });
  }

  private die(reason: string): void {
    const unexpected = !this.closed;
    this.closed = true;
    this.failAll(new Error(reason));
    if (unexpected) this.onDeath?.(reason);
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new SpoolError(err));
    }
  }

  private call<T>(op: WorkOp, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new SpoolError(new Error('spool is closed')));
    return new Promise<T>((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.outbox.length === 0) setImmediate(() => this.post());
      this.outbox.push({ id, op, args });
    });
  }

  accept: Spool['accept'] = (...a) => this.call('accept', ...a);
  recentAccepted: Spool['recentAccepted'] = (...a) => this.call('recentAccepted', ...a);
  acceptedSince: Spool['acceptedSince'] = (...a) => this.call('acceptedSince', ...a);
  claim: Spool['claim'] = (...a) => this.call('claim', ...a);
  nextDue: Spool['nextDue'] = () => this.call('nextDue');
  submitted: Spool['submitted'] = (...a) => this.call('submitted', ...a);
  reschedule: Spool['reschedule'] = (...a) => this.call('reschedule', ...a);
  finish: Spool['finish'] = (...a) => this.call('finish', ...a);
  applyReceipt: Spool['applyReceipt'] = (...a) => this.call('applyReceipt', ...a);
  storeInbound: Spool['storeInbound'] = (...a) => this.call('storeInbound', ...a);
  requeueSending: Spool['requeueSending'] = (...a) => this.call('requeueSending', ...a);
  expireQueued: Spool['expireQueued'] = (...a) => this.call('expireQueued', ...a);
  prune: Spool['prune'] = (...a) => this.call('prune', ...a);
  pendingCount: Spool['pendingCount'] = () => this.call('pendingCount');
  countsByState: Spool['countsByState'] = () => this.call('countsByState');
  oldestQueuedAt: Spool['oldestQueuedAt'] = () => this.call('oldestQueuedAt');
  byQueueId: Spool['byQueueId'] = (...a) => this.call('byQueueId', ...a);

  private post(): void {
    const batch = this.outbox;
    this.outbox = [];
    this.worker.postMessage(batch);
  }

  /** Run a PRAGMA on the spool connection (diagnostics, and fault injection in tests). */
  pragma(text: string): Promise<unknown> {
    return this.call('pragma', text);
  }

  /** Turn a received mail into spooled SMS on the work thread; resolves with the SMTP reply. */
  intake(sub: Submission, logBindings: Record<string, unknown>): Promise<IntakeResult> {
    return this.call('intake', sub, logBindings);
  }

  /** Metrics of the work thread (Prometheus text). */
  metrics(): Promise<string> {
    return this.call('metrics');
  }

  health(): Promise<Health> {
    return this.call('health');
  }

  /** Stop the SMPP side on the delivery thread: finish the window (up to timeoutMs), unbind. */
  stopDelivery(timeoutMs: number): Promise<void> {
    return this.call('stopDelivery', timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call('close');
    this.closed = true;
    await this.worker.terminate();
  }

  /** Stop the thread abruptly (tests of a dying thread). */
  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
