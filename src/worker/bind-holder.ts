/**
 * Several nodes on one PostgreSQL database: the SMSC account's binds and throughput are the cluster's, so one node
 * at a time holds the binds and relays for all; the others accept mail into the shared queue and stand by. "Holds
 * the binds" is a session advisory lock (postgres/session-lock.ts): the server releases it when the holder's
 * connection dies, and the holder unbinds as soon as it cannot prove it still has it, before another node binds.
 *
 * While it relays, the holder renews the leases of the rows it is sending and takes over the rows of nodes whose
 * lease ran out. If it cannot renew its own leases for nearly a lease, it stops relaying too: another node may take
 * those rows over soon.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import { poolConfig } from '../spool/postgres/connect.js';
import { LOCK_SPACE, SessionLock } from '../spool/postgres/session-lock.js';
import { QUEUED_CHANNEL, type PostgresStore } from '../spool/postgres/store.js';

export interface BindHolderOptions {
  config: Config;
  store: PostgresStore;
  log: Logger;
  /** Start relaying (binds, relay) and stop it; stop resolves once the binds are closed. */
  startRelay(): void;
  stopRelay(timeoutMs?: number): Promise<void>;
  /** Rows this node was sending when it last lost the binds go back to the queue before it relays again. */
  requeueOwn(now: number): Promise<number>;
  onChange?: (holding: boolean) => void;
  /** Another node announced rows it queued: the relay's waiting claim should look now. */
  onQueuedElsewhere?: () => void;
}

export class BindHolder {
  private readonly lock: SessionLock;
  private relaying = false;
  /** Start and stop run one after the other: a new relay never starts before the old one's binds are closed. */
  private chain: Promise<void> = Promise.resolve();
  private renewTimer: NodeJS.Timeout | undefined;
  private lastRenewed = 0;

  constructor(private readonly o: BindHolderOptions) {
    const { cluster, node, spool } = o.config;
    const failoverMs = cluster.failover_s * 1000;
    const {
      max: _max,
      idleTimeoutMillis: _idle,
      ...client
    } = poolConfig(spool, `smtp2sms ${node.id} binds`.slice(0, 63));
    this.lock = new SessionLock({
      client,
      space: LOCK_SPACE.binds,
      // One SMSC account: every node of the database competes for the same lock.
      name: 'smpp-binds',
      checkMs: failoverMs / 3,
      retryMs: failoverMs / 3,
      releaseAfterMs: failoverMs,
      log: o.log,
      // Standby nodes announce the rows they queue; the holder hears it on the lock's own connection.
      listen: { channel: QUEUED_CHANNEL, onNotify: () => o.onQueuedElsewhere?.() },
      onAcquired: () => this.gained(),
      onLost: (reason) => this.lost(reason),
    });
  }

  get holding(): boolean {
    return this.relaying;
  }

  start(): void {
    this.lock.run();
  }

  private gained(): void {
    this.o.log.info({ node: this.o.config.node.id }, 'this node holds the SMPP binds and relays for the cluster');
    this.chain = this.chain.then(async () => {
      if (!this.lock.held) return;
      const requeued = await this.o.requeueOwn(Date.now()).catch(() => 0);
      if (requeued > 0) this.o.log.warn({ requeued }, 'rows this node was sending before go out again (at-least-once)');
      if (!this.lock.held) return;
      this.relaying = true;
      this.lastRenewed = Date.now();
      this.o.startRelay();
      this.o.onChange?.(true);
      this.renewLater();
    });
  }

  private lost(reason: string): void {
    this.o.log.error(
      { node: this.o.config.node.id, reason },
      'this node lost the SMPP bind lock: it unbinds now and stands by (another node may bind)',
    );
    this.stopRelaying();
  }

  private stopRelaying(): void {
    clearTimeout(this.renewTimer);
    this.chain = this.chain.then(async () => {
      if (!this.relaying) return;
      this.relaying = false;
      this.o.onChange?.(false);
      await this.o.stopRelay().catch((err: unknown) => this.o.log.error({ err }, 'stopping the relay failed'));
    });
  }

  private renewLater(): void {
    const { lease_s, lease_renew_s } = this.o.config.cluster;
    this.renewTimer = setTimeout(() => {
      void (async () => {
        if (!this.relaying) return;
        const now = Date.now();
        try {
          await this.o.store.renewLeases(now);
          this.lastRenewed = now;
          const taken = await this.o.store.takeOverExpired(now);
          if (taken.length > 0) {
            this.o.log.warn(
              { rows: taken.length, from: [...new Set(taken.map((t) => t.owner))] },
              'took over rows whose node stopped renewing their lease; they go out again (at-least-once)',
            );
          }
        } catch (err) {
          // Rows whose lease this node cannot renew will soon be another node's: stop sending before that.
          if (Date.now() - this.lastRenewed >= (lease_s - lease_renew_s) * 1000) {
            this.o.log.error({ err: (err as Error).message }, 'cannot renew the leases of the rows being sent');
            this.lock.giveUp('leases not renewed for nearly cluster.lease_s');
            return;
          }
        }
        if (this.relaying) this.renewLater();
      })();
    }, lease_renew_s * 1000);
    this.renewTimer.unref();
  }

  /** A clean stop: the relay finishes what it is sending (up to timeoutMs), then the lock goes. */
  async stop(timeoutMs: number): Promise<void> {
    clearTimeout(this.renewTimer);
    this.chain = this.chain.then(async () => {
      if (!this.relaying) return;
      this.relaying = false;
      await this.o.stopRelay(timeoutMs).catch(() => undefined);
    });
    await this.chain;
    await this.lock.stop();
  }
}
