/**
 * "This node holds the SMPP binds": a lease row in the database (cluster_lease), judged by the database's clock
 * alone, so a node whose clock is off judges it as every other node does. The holder renews it every third of its
 * time to live; any node takes it over once it has expired by the database's clock, with the next epoch (the
 * fencing token the holder's writes carry, postgres/store.ts).
 *
 * The holder fences itself, by the monotonic clock of this process: a renewal sent at t and answered keeps the
 * binds until t + ttl − margin at most, since the database set the expiry at t or later. Past that (no renewal
 * answered in time: the database path hangs or is cut, or the process was frozen) it must not submit anything,
 * whatever it has heard since, because another node may already hold the lease. `mayAct()` answers that without
 * waiting for a timer, so a process waking from a freeze asks before its first submit and stops, and the loss is
 * told (onLost) at once after. Unlike a session advisory lock, nothing here depends on the server noticing that a
 * TCP session died: a frozen process's kernel keeps answering for it.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Logger } from '../../ops/log.js';

export interface BindLeaseOptions {
  /** The connection's settings (from poolConfig, without the pool's). */
  client: pg.ClientConfig;
  /** The lease's name: one SMSC account's binds. */
  name: string;
  /** This node's id (the lease's holder). */
  node: string;
  /** How long a renewal keeps the lease (cluster.failover_s). */
  ttlMs: number;
  log: Logger;
  /** The lease was taken, with this epoch (every epoch is larger than the last, cluster-wide). */
  onAcquired?: (epoch: number) => void;
  /** The lease is lost (or may be): stop submitting at once. */
  onLost?: (reason: string) => void;
  /** An attempt found the lease held by another node (it is live and renews it). */
  onHeldElsewhere?: () => void;
  /** While held, LISTEN on this channel of the lease's connection and call onNotify for each notification. */
  listen?: { channel: string; onNotify: () => void };
  /** Monotonic milliseconds (tests may pass their own). */
  monotonic?: () => number;
}

const ACQUIRE = `INSERT INTO cluster_lease (name, holder, epoch, expires_at)
  VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = cluster_lease.epoch + 1,
    expires_at = EXCLUDED.expires_at
  WHERE cluster_lease.expires_at < now() OR cluster_lease.holder IS NULL OR cluster_lease.holder = EXCLUDED.holder
  RETURNING epoch`;
const RENEW = `UPDATE cluster_lease SET expires_at = now() + $4 * interval '1 millisecond'
  WHERE name = $1 AND holder = $2 AND epoch = $3 RETURNING epoch`;
const RELEASE = `UPDATE cluster_lease SET holder = NULL, expires_at = '-infinity'
  WHERE name = $1 AND holder = $2 AND epoch = $3`;

/** The fencing margin: what a renewal's answer may be late, plus time to close the binds before the expiry. */
export function fenceMarginMs(ttlMs: number): number {
  return Math.min(Math.max(1000, ttlMs / 5), ttlMs / 2);
}

/** How often the holder renews, and a standby tries to take the lease. */
export const renewEveryMs = (ttlMs: number): number => ttlMs / 3;
export const tryEveryMs = (ttlMs: number): number => Math.min(1000, ttlMs / 3);

export class BindLease {
  private client: pg.Client | undefined;
  private epochNow: number | undefined;
  /** Monotonic time until which this node may act as the holder. */
  private fenceAt = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private lastProblem = '';
  private readonly mono: () => number;

  constructor(private readonly opts: BindLeaseOptions) {
    this.mono = opts.monotonic ?? (() => performance.now());
  }

  /** The epoch while held (the fencing token), undefined otherwise. */
  get epoch(): number | undefined {
    return this.epochNow;
  }

  get held(): boolean {
    return this.epochNow !== undefined;
  }

  /** May this node submit now? False once the lease may have expired as the other nodes see it. */
  mayAct(): boolean {
    if (this.epochNow === undefined) return false;
    if (this.mono() < this.fenceAt) return true;
    this.lose('no renewal answered within cluster.failover_s (a frozen process, or the database out of reach)');
    return false;
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      ...this.opts.client,
      keepAlive: true,
      // A hung path to the database fails the query, not the lease: the fence decides when that matters.
      query_timeout: Math.max(500, renewEveryMs(this.opts.ttlMs)),
      connectionTimeoutMillis: Math.max(500, renewEveryMs(this.opts.ttlMs)),
    });
    client.on('error', () => this.dropClient(client));
    client.on('end', () => this.dropClient(client));
    const listen = this.opts.listen;
    if (listen) client.on('notification', () => listen.onNotify());
    this.client = client;
    try {
      await client.connect();
    } catch (err) {
      this.dropClient(client);
      throw err;
    }
    return client;
  }

  /** A connection that failed is not used again; the lease itself lives on in the database until it expires. */
  private dropClient(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
  }

  private lose(reason: string): void {
    if (this.epochNow === undefined) return;
    this.epochNow = undefined;
    this.fenceAt = Number.NEGATIVE_INFINITY;
    clearTimeout(this.fenceTimer);
    // LISTEN belongs to the holder: a fresh connection for the next try.
    if (this.client) this.dropClient(this.client);
    this.opts.onLost?.(reason);
  }

  /** The fence moves to sentAt + ttl − margin; a timer tells the loss even if nothing asks mayAct. */
  private fenceFrom(sentAt: number): void {
    this.fenceAt = sentAt + this.opts.ttlMs - fenceMarginMs(this.opts.ttlMs);
    clearTimeout(this.fenceTimer);
    this.fenceTimer = setTimeout(() => this.mayAct(), Math.max(0, this.fenceAt - this.mono()) + 1);
    this.fenceTimer.unref();
  }

  /** One attempt to take the lease; true when held. Errors are thrown. */
  async tryAcquire(): Promise<boolean> {
    if (this.epochNow !== undefined) return true;
    const client = await this.connect();
    const sentAt = this.mono();
    const r = await client.query<{ epoch: string }>(ACQUIRE, [this.opts.name, this.opts.node, this.opts.ttlMs]);
    const row = r.rows[0];
    if (this.stopped) return false;
    if (!row) {
      this.opts.onHeldElsewhere?.();
      return false;
    }
    if (this.opts.listen) await client.query(`LISTEN ${this.opts.listen.channel}`);
    this.epochNow = Number(row.epoch);
    this.fenceFrom(sentAt);
    this.lastProblem = '';
    this.opts.onAcquired?.(this.epochNow);
    return true;
  }

  /** One renewal: the fence moves on when it is answered; a refusal (another holds it) loses the lease now. */
  private async renew(): Promise<void> {
    const epoch = this.epochNow;
    if (epoch === undefined) return;
    const sentAt = this.mono();
    try {
      const client = await this.connect();
      const r = await client.query(RENEW, [this.opts.name, this.opts.node, epoch, this.opts.ttlMs]);
      if (this.epochNow !== epoch) return;
      if (r.rowCount === 0) return this.lose('the lease was taken by another node');
      // Answered, but perhaps after the fence passed: then it stays lost until a new acquire proves it.
      if (this.mayAct()) this.fenceFrom(sentAt);
    } catch (err) {
      const problem = (err as Error).message;
      if (problem !== this.lastProblem) this.opts.log.warn({ err: problem }, 'cannot renew the SMPP binds lease');
      this.lastProblem = problem;
      if (this.client) this.dropClient(this.client);
      this.mayAct();
    }
  }

  /** Keep trying to take the lease, and once held keep renewing it, until stop(). */
  run(): void {
    const step = async (): Promise<void> => {
      if (this.stopped) return;
      if (this.epochNow !== undefined) await this.renew();
      else {
        try {
          await this.tryAcquire();
        } catch (err) {
          const problem = (err as Error).message;
          if (problem !== this.lastProblem)
            this.opts.log.warn({ err: problem }, 'cannot reach PostgreSQL for the lease');
          this.lastProblem = problem;
        }
      }
      if (this.stopped) return;
      const every = this.epochNow !== undefined ? renewEveryMs(this.opts.ttlMs) : tryEveryMs(this.opts.ttlMs);
      this.timer = setTimeout(() => void step(), every);
    };
    void step();
  }

  /** Give the lease up now (as if lost: onLost runs) and keep competing for it. */
  giveUp(reason: string): void {
    this.lose(reason);
  }

  /** Release it in the database (the next node need not wait for the expiry) and stop trying. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.fenceTimer);
    const epoch = this.epochNow;
    this.epochNow = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      if (epoch !== undefined)
        await client.query(RELEASE, [this.opts.name, this.opts.node, epoch]).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
