/**
 * The PostgreSQL spool store (spool.backend: postgres): the SpoolStore contract over a pg pool. Every operation is
 * one transaction on a pooled connection whose session commits synchronously (see connect.ts), so a promise that
 * resolves has committed to disk; any failure (server down, read-only, a statement timeout) is a SpoolError →
 * 451 4.3.0. A connection that failed is dropped, and the pool opens new ones as the server answers again: nothing
 * needs a restart. Mail waiting for a connection waits in the pool's queue, not on a connection of its own.
 *
 * The queue's algorithms are spool/queue/'s, run on a transaction here; this driver gives what several nodes need
 * of them: acceptance takes `pg_advisory_xact_lock` per recipient, so the provider's rules see every node's rows;
 * claims use FOR UPDATE SKIP LOCKED and stamp the row with this node and the binds lease's epoch; a receipt and
 * the SMSC id it matches serialise on their id's every form.
 */
import type pg from 'pg';
import { dailyQuery, listQuery, POSTGRES_DIALECT } from '../message-query.js';
import type { SendOutcome, SpoolStore } from '../store.js';
import { SpoolError, type ReceiptFact, type ReceiptUpdate, type SmsRow } from '../types.js';
import { rowFromColumns, type SmsColumns } from '../columns.js';
import * as rp from '../queue/reply-parts.js';
import type { OutboxStore } from '../outbox-contract.js';
import { ALWAYS_LOOK, type QueueContext } from '../queue/engine.js';
import { acceptRows, recentAccepted } from '../queue/accept.js';
import * as q from '../queue/lifecycle.js';
import { recordOutcomes } from '../queue/outcomes.js';
import * as ob from '../queue/outbox.js';
import type { Program } from '../queue/program.js';
import { agedEarly, applyReceipt, resolveAged } from '../queue/receipts.js';
import { DB_NOW_MS, POSTGRES_SQL, postgresOwnership, postgresRunner } from './engine.js';

/** The NOTIFY channel a standby node announces queued rows on. */
export const QUEUED_CHANNEL = 'smtp2sms_queued';
/** How long a claimed row is this node's before another node may take it over (cluster.lease_s's default). */
export const LEASE_MS = 15_000;
/** /healthz: as for SQLite, a write that failed this recently makes the spool unhealthy. */
const HEALTH_WINDOW_MS = 10_000;

/** An sms row as PostgreSQL hands it back: int8 as strings, booleans as booleans, jsonb as values. */
export interface PgRow extends SmsColumns {
  id: string;
  truncated: boolean;
  parts: SmsRow['parts'];
  created_at: string;
  updated_at: string;
  next_attempt_at: string;
  first_submit_at: string | null;
  smsc_ids: (string | null)[];
  receipts: (string | null)[];
  receipt_facts: (ReceiptFact | null)[];
}

/** int8 columns come back as strings (pg keeps their full range); ours are ids and ms timestamps, safe as numbers. */
export const fromPg = (r: PgRow): SmsRow => rowFromColumns(r);

type Client = pg.PoolClient;

export class PostgresStore implements SpoolStore {
  private lastFailure: { at: number; message: string } = { at: -Infinity, message: '' };
  /** Send outcomes commit in the order they came (a row's 'submitted' before its 'finish'): one at a time. */
  private recordChain: Promise<unknown> = Promise.resolve();
  /**
   * Set while another node relays: each commit that queued rows is announced (NOTIFY), so the relaying node's
   * waiting claim ends at once instead of at its next poll. Announcements coalesce: one in flight, one more after.
   */
  announceQueued = false;
  /**
   * The epoch of the SMPP binds lease while this node holds it (postgres/bind-lease.ts), the fencing token of its
   * writes: a row's outcome is written only by the owner that claimed it in this epoch. Undefined: not holding.
   */
  epoch: number | undefined;
  /** A send outcome refused because this node no longer owns the row (it was deposed): told, never applied. */
  onFenced: ((outcome: SendOutcome) => void) | undefined;
  private announcing = false;
  private announceAgain = false;

  constructor(
    readonly pool: pg.Pool,
    /** Who claims rows here (the lease's owner). */
    readonly node: string,
    /** A claimed row is this node's for this long; the relaying node renews it (renewLeases). */
    readonly leaseMs: number = LEASE_MS,
  ) {}

  /** One transaction on a pooled connection; a connection that failed is not given back (the pool opens another). */
  private async tx<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    let client: Client;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.failed(err);
    }
    // A checked-out connection the server ends (a restart) emits 'error' besides failing its query; the pool only
    // listens while the connection is idle, and an unheard 'error' would end the work thread.
    const onError = (): void => undefined;
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      client.off('error', onError);
      client.release();
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.off('error', onError);
      client.release(err instanceof Error ? err : true);
      throw this.failed(err);
    }
  }

  /** A read outside a transaction; failures are SpoolErrors too (the relay retries a failed claim). */
  private async read<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** A read program outside a transaction, on whichever pooled connection is free. */
  private async readProgram<T>(program: Program<T>): Promise<T> {
    try {
      return await postgresRunner(this.pool)(program);
    } catch (err) {
      throw this.failed(err);
    }
  }

  private failed(err: unknown): SpoolError {
    if (err instanceof SpoolError) return err;
    this.lastFailure = { at: Date.now(), message: (err as Error)?.message ?? String(err) };
    return new SpoolError(err);
  }

  /** For the shared queue programs: PostgreSQL's spelling, and this node's ownership in the epoch it holds now. */
  private ctx(): QueueContext {
    return {
      sql: POSTGRES_SQL,
      own: postgresOwnership(this.node, this.epoch, this.leaseMs, this.onFenced),
      early: ALWAYS_LOOK,
    };
  }

  /** Tell the relaying node (LISTEN on its bind lock's connection) that rows were queued; never fails a mail. */
  private announce(): void {
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    this.announcing = true;
    void this.pool
      .query(`SELECT pg_notify('${QUEUED_CHANNEL}', '')`)
      .catch(() => undefined)
      .finally(() => {
        this.announcing = false;
        if (!this.announceAgain) return;
        this.announceAgain = false;
        this.announce();
      });
  }

  accept: SpoolStore['accept'] = async (rows, now, rules) => {
    const outcomes = await this.acceptTx(rows, now, rules);
    if (this.announceQueued && outcomes.some((o) => o.kind === 'queued')) this.announce();
    return outcomes;
  };

  private acceptTx: SpoolStore['accept'] = (rows, now, rules) =>
    this.tx((c) => postgresRunner(c)(acceptRows(this.ctx(), rows, now, rules)));

  recentAccepted: SpoolStore['recentAccepted'] = (recipient, limit) =>
    this.readProgram(recentAccepted(recipient, limit));
  acceptedSince: SpoolStore['acceptedSince'] = (since) => this.readProgram(q.acceptedSince(since));
  nextDue: SpoolStore['nextDue'] = () => this.readProgram(q.nextDue());
  pendingCount: SpoolStore['pendingCount'] = () => this.readProgram(q.pendingCount());
  countsByState: SpoolStore['countsByState'] = () => this.readProgram(q.countsByState());
  oldestQueuedAt: SpoolStore['oldestQueuedAt'] = () => this.readProgram(q.oldestQueuedAt());
  byQueueId: SpoolStore['byQueueId'] = (queueId) => this.readProgram(q.byQueueId(queueId));
  byId: SpoolStore['byId'] = (id) => this.readProgram(q.byId(id));

  /** Only the binds lease's holder claims (the epoch is its fencing token); a node that is not holding takes none. */
  claim: SpoolStore['claim'] = (limit, now) =>
    this.epoch === undefined ? Promise.resolve([]) : this.tx((c) => postgresRunner(c)(q.claim(this.ctx(), limit, now)));

  record: SpoolStore['record'] = (outcomes) => {
    const run = this.recordChain.then(() => this.tx((c) => postgresRunner(c)(recordOutcomes(this.ctx(), outcomes))));
    this.recordChain = run.catch(() => undefined);
    return run;
  };

  applyReceipt: SpoolStore['applyReceipt'] = (receiptId, stat, err, now, submitAt) =>
    this.tx((c) => postgresRunner(c)(applyReceipt(this.ctx(), receiptId, stat, err, now, submitAt)));

  /** One transaction per kept receipt, each taking its id's locks as a receipt does (no lock-order deadlock). */
  resolveEarlyReceipts: SpoolStore['resolveEarlyReceipts'] = async (settledBefore, now) => {
    const aged = await this.tx((c) => postgresRunner(c)(agedEarly(this.ctx(), settledBefore)));
    const updates: ReceiptUpdate[] = [];
    for (const r of aged) {
      updates.push(...(await this.tx((c) => postgresRunner(c)(resolveAged(this.ctx(), r, settledBefore, now)))));
    }
    return updates;
  };

  storeInbound: SpoolStore['storeInbound'] = (msg, now) => this.tx((c) => postgresRunner(c)(q.storeInbound(msg, now)));

  /**
   * This node's rows caught 'sending' go back to the queue (a contract operation; a cluster node does not call it
   * at start: a row is orphaned only once its holder has lost the binds lease, see requeueOrphans).
   */
  requeueSending: SpoolStore['requeueSending'] = (now) =>
    this.tx((c) => postgresRunner(c)(q.requeueSending(this.ctx(), now)));

  /**
   * Just after this node took the binds lease (epoch set): every row still 'sending' under another owner or epoch
   * is orphaned, since only the lease's holder sends and the one before fenced itself before the lease expired.
   * Back to the queue, due now, with who had it (each may reach the phone twice: it was in flight).
   */
  requeueOrphans = (now: number): Promise<Array<{ id: number; owner: string | null }>> =>
    this.tx(async (c) => {
      const res = await c.query<{ id: string; owner: string | null }>(
        `WITH old AS (SELECT id, owner FROM sms WHERE state = 'sending'
           AND (owner IS DISTINCT FROM $2 OR claim_epoch IS DISTINCT FROM $3) FOR UPDATE SKIP LOCKED)
         UPDATE sms s SET state = 'queued', next_attempt_at = $1, updated_at = $1, owner = NULL, lease_until = NULL,
           claim_epoch = NULL
         FROM old WHERE s.id = old.id RETURNING s.id, old.owner`,
        [now, this.node, this.epoch ?? null],
      );
      return res.rows.map((r) => ({ id: Number(r.id), owner: r.owner }));
    });

  /** The relaying node keeps its rows: every row it is sending in this epoch is its own for another lease. */
  renewLeases = (_now: number): Promise<number> =>
    this.tx(async (c) => {
      const res = await c.query(
        `UPDATE sms SET lease_until = ${DB_NOW_MS} + $3::bigint
         WHERE state = 'sending' AND owner = $1 AND claim_epoch = $2`,
        [this.node, this.epoch ?? null, this.leaseMs],
      );
      return res.rowCount ?? 0;
    });

  /**
   * Rows another node was sending whose lease ran out (that node died, or lost the database and stopped) go back
   * to the queue, for this node to send. Each taken row is logged by the caller: it may reach the phone twice.
   */
  takeOverExpired = (now: number): Promise<Array<{ id: number; owner: string | null }>> =>
    this.tx(async (c) => {
      const res = await c.query<{ id: string; owner: string | null }>(
        `WITH old AS (SELECT id, owner FROM sms WHERE state = 'sending'
           AND (owner IS DISTINCT FROM $2 OR claim_epoch IS DISTINCT FROM $3)
           AND (lease_until IS NULL OR lease_until < ${DB_NOW_MS}) FOR UPDATE SKIP LOCKED)
         UPDATE sms s SET state = 'queued', next_attempt_at = $1, updated_at = $1, owner = NULL, lease_until = NULL,
           claim_epoch = NULL
         FROM old WHERE s.id = old.id RETURNING s.id, old.owner`,
        [now, this.node, this.epoch ?? null],
      );
      return res.rows.map((r) => ({ id: Number(r.id), owner: r.owner }));
    });

  expireQueued: SpoolStore['expireQueued'] = (before, now, reason) =>
    this.tx((c) => postgresRunner(c)(q.expireQueued(before, now, reason)));

  prune: SpoolStore['prune'] = (before) =>
    this.tx(async (c) => {
      const n = await postgresRunner(c)(q.pruneRows(this.ctx(), before));
      await postgresRunner(c)(ob.pruneOutbox(before));
      return n;
    });

  // ---- The outbox: see spool/queue/outbox.ts ----

  reportsDue: OutboxStore['reportsDue'] = (now, sweep) =>
    this.tx((c) => postgresRunner(c)(ob.reportsDue(this.ctx(), now, sweep)));
  storeReply: OutboxStore['storeReply'] = (sms, now, settings) =>
    this.tx((c) => postgresRunner(c)(ob.storeReply(this.ctx(), sms, now, settings)));
  storeReplyPart: OutboxStore['storeReplyPart'] = (part, now, how) =>
    this.tx((c) => postgresRunner(c)(rp.storeReplyPart(this.ctx(), part, now, how)));
  expireReplyParts: OutboxStore['expireReplyParts'] = (now, timeoutMs, how) =>
    this.tx((c) => postgresRunner(c)(rp.expireReplyParts(this.ctx(), now, timeoutMs, how)));
  claimOutbox: OutboxStore['claimOutbox'] = (limit, now, leaseMs, owner) =>
    this.tx((c) => postgresRunner(c)(ob.claimOutbox(this.ctx(), limit, now, leaseMs, owner)));
  releaseOutbox: OutboxStore['releaseOutbox'] = (owner) => this.tx((c) => postgresRunner(c)(ob.releaseOutbox(owner)));
  outboxDone: OutboxStore['outboxDone'] = (id, result, now) =>
    this.tx((c) => postgresRunner(c)(ob.outboxDone(id, result, now)));
  outboxFor: SpoolStore['outboxFor'] = (queueId) => this.readProgram(ob.outboxFor(this.ctx(), queueId));
  listOutbox: OutboxStore['listOutbox'] = (limit) => this.readProgram(ob.listOutbox(limit));
  outboxCounts: OutboxStore['outboxCounts'] = () => this.readProgram(ob.outboxCounts());

  listMessages: SpoolStore['listMessages'] = async (filter) => {
    const q = listQuery(filter, POSTGRES_DIALECT);
    return (await this.read<PgRow>(q.sql, q.params)).map(fromPg);
  };

  dailyCounts: SpoolStore['dailyCounts'] = async (scope, since) => {
    const q = dailyQuery(scope, since, POSTGRES_DIALECT);
    const rows = await this.read<Record<'day' | 'messages' | 'parts' | 'delivered' | 'failed', string>>(
      q.sql,
      q.params,
    );
    return rows.map((r) => ({
      day: Number(r.day),
      messages: Number(r.messages),
      parts: Number(r.parts),
      delivered: Number(r.delivered),
      failed: Number(r.failed),
    }));
  };

  /** READ COMMITTED: an UPDATE meeting a row a claim holds waits for it and rechecks state = 'queued'. */
  cancelQueued: SpoolStore['cancelQueued'] = (id, scope, reason, now) =>
    this.tx((c) => postgresRunner(c)(q.cancelQueued(POSTGRES_DIALECT, id, scope, reason, now)));

  /** Reachable and takes writes: a real committed write, and no failed write within HEALTH_WINDOW_MS. */
  writable: SpoolStore['writable'] = async (now = Date.now()) => {
    if (now - this.lastFailure.at < HEALTH_WINDOW_MS) {
      return {
        writable: false,
        problem:
          `a spool write failed ${Math.round((now - this.lastFailure.at) / 1000)} s ago: ` +
          `${this.lastFailure.message}`,
      };
    }
    try {
      await this.tx((c) =>
        c.query(
          'INSERT INTO health_probe (node, at) VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET at = EXCLUDED.at',
          [this.node, now],
        ),
      );
    } catch (err) {
      return { writable: false, problem: (err as Error).message };
    }
    return { writable: true };
  };

  close: SpoolStore['close'] = async () => {
    await this.recordChain;
    await this.pool.end();
  };
}
