/**
 * A session-level advisory lock on a connection of its own: the server releases it when that connection ends, so a
 * node that dies (or is cut off) loses it without doing anything. Its use: "this node id is live" (held for the
 * daemon's life). Who holds the SMPP binds is a lease in database time instead (bind-lease.ts): a session's end is
 * too slow and too weak a signal for that (a frozen process's kernel keeps the session up).
 *
 * A holder that can no longer prove it holds the lock (its connection failed, or a check did not answer within
 * checkMs) must act as if it lost it at once: the server may already have given it to another node. The session's
 * TCP keepalives are set so that the server drops a silent holder only after about `releaseAfterMs`, which is
 * longer than the holder takes to notice (two checks): the old holder stops before the next one starts.
 */
import pg from 'pg';
import type { Logger } from '../../ops/log.js';

/** Key spaces of the two-int4 advisory keys (apart from the one-int8 keys the transaction locks use). */
export const LOCK_SPACE = { node: 0x736d7301, binds: 0x736d7302 } as const;

export interface SessionLockOptions {
  /** The connection's settings (from poolConfig, without the pool's). */
  client: pg.ClientConfig;
  space: number;
  /** Hashed with hashtext() into the second int4 of the key. */
  name: string;
  /** While held: how often the lock's connection is checked, and how long a check may take. */
  checkMs: number;
  /** While not held: how often to try again. */
  retryMs: number;
  /** The server ends a silent holder's session after about this long (TCP keepalives, tcp_user_timeout). */
  releaseAfterMs: number;
  log: Logger;
  onAcquired?: () => void;
  onLost?: (reason: string) => void;
}

/** Session settings that make the server notice a silent peer after about `ms` (ignored on Unix sockets). */
export function keepaliveOptions(ms: number): string {
  const idle = Math.max(1, Math.round(ms / 3000));
  const interval = Math.max(1, Math.round(ms / 6000));
  return [
    `-c tcp_keepalives_idle=${idle}`,
    `-c tcp_keepalives_interval=${interval}`,
    '-c tcp_keepalives_count=4',
    `-c tcp_user_timeout=${Math.max(1000, Math.round(ms))}`,
  ].join(' ');
}

export class SessionLock {
  private client: pg.Client | undefined;
  private heldNow = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastProblem = '';

  constructor(private readonly opts: SessionLockOptions) {}

  get held(): boolean {
    return this.heldNow;
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const options = [this.opts.client.options, keepaliveOptions(this.opts.releaseAfterMs)].filter(Boolean).join(' ');
    const client = new pg.Client({
      ...this.opts.client,
      options,
      keepAlive: true,
      query_timeout: this.opts.checkMs,
    });
    client.on('error', (err) => this.drop(client, `lock connection failed: ${err.message}`));
    client.on('end', () => this.drop(client, 'lock connection ended'));
    this.client = client;
    try {
      await client.connect();
    } catch (err) {
      this.drop(client, (err as Error).message);
      throw err;
    }
    return client;
  }

  /** The connection is gone or not to be trusted: whatever it held is lost. */
  private drop(client: pg.Client, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.heldNow) {
      this.heldNow = false;
      this.opts.onLost?.(reason);
    }
  }

  /** One attempt; true when this session holds the lock. Connection errors are thrown. */
  async tryAcquire(): Promise<boolean> {
    if (this.heldNow) return true;
    const client = await this.connect();
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int4, hashtext($2)) AS ok', [
      this.opts.space,
      this.opts.name,
    ]);
    if (r.rows[0]?.ok !== true || this.client !== client) return false;
    this.heldNow = true;
    this.lastProblem = '';
    this.opts.onAcquired?.();
    return true;
  }

  /** Keep trying to take the lock, and once held keep checking it, until stop(). */
  run(): void {
    const step = async (): Promise<void> => {
      if (this.stopped) return;
      if (this.heldNow) {
        const client = this.client;
        try {
          await client?.query('SELECT 1');
        } catch (err) {
          if (client) this.drop(client, `lock check failed: ${(err as Error).message}`);
        }
      } else {
        try {
          await this.tryAcquire();
        } catch (err) {
          const problem = (err as Error).message;
          if (problem !== this.lastProblem) this.opts.log.warn({ err: problem }, 'cannot reach PostgreSQL for a lock');
          this.lastProblem = problem;
        }
      }
      if (this.stopped) return;
      this.timer = setTimeout(() => void step(), this.heldNow ? this.opts.checkMs : this.opts.retryMs);
    };
    void step();
  }

  /** Give the lock up now (as if lost: onLost runs) and keep competing for it. */
  giveUp(reason: string): void {
    if (this.client) this.drop(this.client, reason);
  }

  /** Release (by ending the session: the server drops every lock it held) and stop trying. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.heldNow = false;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
