/**
 * Several nodes on one PostgreSQL database: the SMSC account's binds and throughput are the cluster's, so one node
 * at a time holds the binds and relays for all; the others accept mail into the shared queue and stand by. "Holds
 * the binds" is a lease in database time with a fencing epoch (postgres/bind-lease.ts): whoever holds it renews it,
 * any node takes it once it has expired by the database's clock, and a holder that cannot prove it still holds it
 * closes its binds at once, before the lease can have expired as the others see it.
 *
 * On taking the lease, every row still 'sending' under another owner or epoch is orphaned (only the holder sends,
 * and the one before has fenced itself): it goes back to the queue. The store writes send outcomes only for rows
 * this node claimed in the epoch it holds, so a deposed holder's late writes are refused.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../ops/log.js';
import { BindLease } from './bind-lease.js';
import { poolConfig } from './connect.js';
import { QUEUED_CHANNEL, type PostgresStore } from './store.js';

export interface BindHolderOptions {
  config: Config;
  store: PostgresStore;
  log: Logger;
  /** Start relaying (binds, relay); `mayAct` answers, before each submit, whether this node still may. */
  startRelay(mayAct: () => boolean): void;
  /** A clean stop: resolves once the binds are closed. */
  stopRelay(timeoutMs?: number): Promise<void>;
  /** Fenced: close every bind now (synchronously, before anything is awaited), then stop the relay. */
  abortRelay(): Promise<void>;
  onChange?: (holding: boolean) => void;
  /** The database's time as this node reckons it (db-clock.ts). */
  now: () => number;
  /** Another node announced rows it queued: the relay's waiting claim should look now. */
  onQueuedElsewhere?: () => void;
}

/** The lease's name: the SMSC account's binds (one account today). */
export const BINDS_LEASE = 'smpp-binds';

export class BindHolder {
  private readonly lease: BindLease;
  private relaying = false;
  /** Another node held the lease at this node's last try (logged once), or this node lost it. */
  private standingBy = false;
  /** Start and stop run one after the other: a new relay never starts before the old one's binds are closed. */
  private chain: Promise<void> = Promise.resolve();
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: BindHolderOptions) {
    const { cluster, node, spool } = o.config;
    const {
      max: _max,
      idleTimeoutMillis: _idle,
      ...client
    } = poolConfig(spool, `smtp2sms ${node.id} binds`.slice(0, 63));
    this.lease = new BindLease({
      client,
      name: BINDS_LEASE,
      node: node.id,
      ttlMs: cluster.failover_s * 1000,
      log: o.log,
      // Standby nodes announce the rows they queue; the holder hears it on the lease's own connection.
      listen: { channel: QUEUED_CHANNEL, onNotify: () => o.onQueuedElsewhere?.() },
      onAcquired: (epoch) => this.gained(epoch),
      onLost: (reason) => this.lost(reason),
      onHeldElsewhere: () => this.standBy(),
    });
  }

  get holding(): boolean {
    return this.relaying;
  }

  start(): void {
    this.lease.run();
  }

  /** Another node holds the lease: said once each time this node starts standing by (not at every try). */
  private standBy(): void {
    if (this.standingBy) return;
    this.standingBy = true;
    this.o.log.info(
      { failoverS: this.o.config.cluster.failover_s },
      'standing by: another node holds the SMPP binds; this node accepts mail into the shared queue and takes ' +
        'the binds over if that node stops renewing its lease',
    );
  }

  private gained(epoch: number): void {
    this.o.store.epoch = epoch;
    // After standing by: this node takes over from the node that held them.
    const tookOver = this.standingBy;
    this.standingBy = false;
    this.o.log.info(
      { epoch, ...(tookOver ? { tookOver } : {}) },
      'this node holds the SMPP binds and relays for the cluster',
    );
    this.chain = this.chain.then(async () => {
      if (this.lease.epoch !== epoch) return;
      const orphans = await this.o.store.requeueOrphans(this.o.now()).catch((err: unknown) => {
        this.o.log.error({ err: (err as Error).message }, 'rows of the previous holder not requeued yet');
        return [];
      });
      if (orphans.length > 0) {
        this.o.log.warn(
          { rows: orphans.length, from: [...new Set(orphans.map((t) => t.owner))] },
          'rows the previous holder was sending go out again (at-least-once: they were in flight)',
        );
      }
      if (this.lease.epoch !== epoch) return;
      this.relaying = true;
      this.o.startRelay(() => this.lease.mayAct());
      this.o.onChange?.(true);
      this.renewLater();
    });
  }

  private lost(reason: string): void {
    this.o.store.epoch = undefined;
    // Its line says it stands by.
    this.standingBy = true;
    clearTimeout(this.renewTimer);
    // The binds close now, not after whatever the chain waits on (a database call that hangs).
    const aborted = this.relaying ? this.o.abortRelay() : Promise.resolve();
    this.o.log.error(
      { reason },
      'this node lost the SMPP binds lease: its binds are closed and it stands by (another node may bind)',
    );
    this.chain = this.chain.then(async () => {
      if (!this.relaying) return;
      this.relaying = false;
      this.o.onChange?.(false);
      await aborted.catch((err: unknown) => this.o.log.error({ err }, 'stopping the relay failed'));
    });
  }

  /** Rows being sent keep a lease of their own (database time), for the status views and as a safety net. */
  private renewLater(): void {
    const { lease_renew_s } = this.o.config.cluster;
    this.renewTimer = setTimeout(() => {
      void (async () => {
        if (!this.relaying) return;
        try {
          await this.o.store.renewLeases(this.o.now());
          const taken = await this.o.store.takeOverExpired(this.o.now());
          if (taken.length > 0) {
            this.o.log.warn(
              { rows: taken.length, from: [...new Set(taken.map((t) => t.owner))] },
              'took over rows whose lease ran out; they go out again (at-least-once)',
            );
          }
        } catch (err) {
          // The binds lease decides whether this node may go on; a failed renewal here only waits for the next.
          this.o.log.warn({ err: (err as Error).message }, 'cannot renew the leases of the rows being sent');
        }
        if (this.relaying) this.renewLater();
      })();
    }, lease_renew_s * 1000);
    this.renewTimer.unref();
  }

  /** A clean stop: the relay finishes what it is sending (up to timeoutMs), then the lease is released. */
  async stop(timeoutMs: number): Promise<void> {
    clearTimeout(this.renewTimer);
    this.chain = this.chain.then(async () => {
      if (!this.relaying) return;
      this.relaying = false;
      await this.o.stopRelay(timeoutMs).catch(() => undefined);
    });
    await this.chain;
    this.o.store.epoch = undefined;
    await this.lease.stop();
  }
}
