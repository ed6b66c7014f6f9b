/**
 * The work thread (worker/entry.ts) as the main thread sees it: the intake, the Spool interface, and the
 * delivery side's metrics, bind health and shutdown.
 */
import { Worker } from 'node:worker_threads';
import type { IntakeResult, Submission } from '../smtp/intake.js';
import { RemoteSpool } from './spool-proxy.js';
import type { BindHealth, ClusterStatus, Health } from '../ops/health.js';
import type { WorkThreadOptions } from './entry.js';
import { RpcClient } from './rpc.js';

/**
 * A mail's objects die young; V8's default young generation (48 MB) let this thread's heap swell under load for
 * nothing. 12 MB kept the daemon's peak RSS at ~200 MB instead of ~230 MB for ~2% more CPU (bench, same run).
 */
const YOUNG_GENERATION_MB = 12;

/**
 * The old generation's ceiling. At or under ~1 GB V8 grows the heap in small steps; above it (the default here is
 * ~4 GB) it let this thread's heap swell while draining a backlog: peak RSS 203–208 MB with the default, 168–169 MB
 * with 128 MB to 1 GB (bench backlog runs, same machine). The thread's live data is small (rows in flight, the
 * statement cache) except the mails being parsed, so the ceiling also leaves room for every client sending its
 * largest mail at once (4× its size while parsed), whatever the config allows.
 */
export function oldGenerationMb(smtp: { max_clients: number; max_message_bytes: number }): number {
  return Math.max(1024, Math.ceil((smtp.max_clients * smtp.max_message_bytes * 4) / (1024 * 1024)));
}

export class WorkThread extends RemoteSpool {
  private closed = false;

  /** Called once if the thread ends without close(): the daemon cannot store or deliver any more. */
  onDeath: ((reason: string) => void) | undefined;

  private constructor(private readonly worker: Worker) {
    super(new RpcClient(worker));
    worker.on('error', (err) => this.die(`work thread failed: ${err.message}`));
    worker.on('exit', (code) => this.die(`work thread exited (code ${code})`));
  }

  /** Start the thread; rejects with the reason when the spool cannot be opened. */
  static start(options: WorkThreadOptions): Promise<WorkThread> {
    // Under vitest this module runs from src/ (TypeScript); a worker needs the built JavaScript in dist/.
    const file = import.meta.url.endsWith('.ts')
      ? new URL('../../dist/worker/entry.js', import.meta.url)
      : new URL('./entry.js', import.meta.url);
    const worker = new Worker(file, {
      workerData: options,
      resourceLimits: {
        maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
        maxOldGenerationSizeMb: oldGenerationMb(options.config.smtp),
      },
    });
    return new Promise((resolve, reject) => {
      worker.once('message', (msg: { ready: boolean; error?: string }) =>
        msg.ready
          ? resolve(new WorkThread(worker))
          : reject(new Error(`cannot open the spool ${options.path}: ${msg.error}`)),
      );
      worker.once('error', reject);
    });
  }

  private die(reason: string): void {
    const unexpected = !this.closed;
    this.closed = true;
    this.rpc.fail(new Error(reason));
    if (unexpected) this.onDeath?.(reason);
  }

  /** Metrics of the work thread (Prometheus text). */
  metrics(): Promise<string> {
    return this.rpc.call('metrics');
  }

  async health(): Promise<Health> {
    const [spool, binds, role, clock] = await Promise.all([
      this.rpc.call<{ writable: boolean; problem?: string }>('writable'),
      this.rpc.call<BindHealth[]>('binds'),
      this.rpc.call<Health['role']>('role'),
      this.clock(),
    ]);
    return {
      spoolWritable: spool.writable,
      ...(spool.problem ? { spoolProblem: spool.problem } : {}),
      binds,
      role,
      ...(clock.problem ? { clockProblem: clock.problem } : {}),
    };
  }

  /** Several nodes on PostgreSQL: who holds the SMPP binds, which nodes are live (undefined with SQLite). */
  cluster(): Promise<ClusterStatus | undefined> {
    return this.rpc.call('cluster');
  }

  /**
   * Several nodes on PostgreSQL: this node's clock against the database's (offset, ms, to add to Date.now()), and
   * why it takes no mail when that is too far off. SQLite: always 0.
   */
  clock(): Promise<{ offsetMs: number; problem?: string }> {
    return this.rpc.call('clock');
  }

  /** Turn a received mail into spooled SMS on the work thread; resolves with the SMTP reply. */
  intake(sub: Submission, logBindings: Record<string, unknown>): Promise<IntakeResult> {
    return this.rpc.call('intake', sub, logBindings);
  }

  /** Stop the SMPP side: finish the window (up to timeoutMs), unbind. */
  stopDelivery(timeoutMs: number): Promise<void> {
    return this.rpc.call('stopDelivery', timeoutMs);
  }

  override close = async (): Promise<void> => {
    if (this.closed) return;
    await this.rpc.call('close');
    this.closed = true;
    await this.worker.terminate();
  };
}
