/**
 * The PostgreSQL spool store (spool.backend: postgres): the SpoolStore contract over a pg pool. Every operation is
 * one transaction on a pooled connection whose session commits synchronously (see connect.ts), so a promise that
 * resolves has committed to disk; any failure (server down, read-only, a statement timeout) is a SpoolError →
 * 451 4.3.0. A connection that failed is dropped, and the pool opens new ones as the server answers again: nothing
 * needs a restart. Mail waiting for a connection waits in the pool's queue, not on a connection of its own.
 *
 * Ready for several nodes (issue 14, part 3): acceptance takes `pg_advisory_xact_lock` per recipient, so the
 * provider's rules see every node's rows; claims use FOR UPDATE SKIP LOCKED and stamp the row with this node and a
 * lease; a receipt and the SMSC id it matches serialise on their id's every form.
 */
import type pg from 'pg';
import { acceptanceQuery, decideAcceptance, type AcceptanceFacts } from '../../policy/acceptance.js';
import type { PolicyRules } from '../../policy/rules.js';
import { cancelQuery, dailyQuery, listQuery, POSTGRES_DIALECT, stateQuery } from '../message-query.js';
import type { SendOutcome, SpoolStore } from '../store.js';
import {
  SpoolError,
  type AcceptOutcome,
  type InboundSms,
  type NewSms,
  type ReceiptFact,
  type ReceiptUpdate,
  type SmsRow,
  type SmsState,
} from '../types.js';
import { FINAL_STATES_SQL } from './migrations.js';
import * as outbox from './outbox.js';
import { rowFromColumns, type SmsColumns } from '../columns.js';
import * as replyParts from './reply-parts.js';
import { fromRawOutbox, RELEASE_OUTBOX_SQL, type RawOutbox } from '../sqlite/outbox.js';
import type { OutboxStore } from '../outbox-contract.js';
import { ALWAYS_LOOK, type QueueContext } from '../queue/engine.js';
import { recordOutcomes } from '../queue/outcomes.js';
import { agedEarly, applyReceipt, resolveAged } from '../queue/receipts.js';
import { POSTGRES_SQL, postgresOwnership, postgresRunner } from './engine.js';

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

/** Take the advisory transaction locks for these keys, in one fixed order (no two transactions deadlock). */
const LOCK_KEYS = `SELECT pg_advisory_xact_lock(k)
  FROM (SELECT DISTINCT hashtext(t) AS k FROM unnest($1::text[]) AS t ORDER BY 1) s`;

/** The database's clock in ms: leases are judged by it alone, whatever a node's own clock says. */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

const INSERT = `
INSERT INTO sms (queue_id, recipient, state, reason, source_addr, source_ton, source_npi, text, comment, coding,
  data_coding, sms_count, truncated, parts, message_id, smtp_user, mail_from, client_ip, fingerprint,
  created_at, updated_at, next_attempt_at, smsc_ids, receipts, attempts, owner, lease_until, claim_epoch)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
  $20, $20, $20, $21, $21, $22, $23, ${DB_NOW_MS} + $24::bigint, $25)
RETURNING id`;

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

  private failed(err: unknown): SpoolError {
    if (err instanceof SpoolError) return err;
    this.lastFailure = { at: Date.now(), message: (err as Error)?.message ?? String(err) };
    return new SpoolError(err);
  }

  /** For the shared queue programs: PostgreSQL's spelling, and this node's ownership in the epoch it holds now. */
  private ctx(): QueueContext {
    return {
      sql: POSTGRES_SQL,
      own: postgresOwnership(this.node, this.epoch, this.onFenced),
      early: ALWAYS_LOOK,
    };
  }

  private async insert(c: Client, r: NewSms, now: number): Promise<number> {
    const empty = JSON.stringify(r.parts.map(() => null));
    const sending = r.state === 'sending';
    const res = await c.query<{ id: string }>(INSERT, [
      r.queueId,
      r.recipient,
      r.state,
      r.reason,
      r.sourceAddr,
      r.sourceTon,
      r.sourceNpi,
      r.text,
      r.comment,
      r.coding,
      r.dataCoding,
      r.smsCount,
      r.truncated,
      JSON.stringify(r.parts),
      r.messageId,
      r.smtpUser,
      r.mailFrom,
      r.clientIp,
      r.fingerprint,
      now,
      empty,
      sending ? 1 : 0,
      sending ? this.node : null,
      sending ? this.leaseMs : null,
      sending ? (this.epoch ?? null) : null,
    ]);
    const id = Number(res.rows[0]?.id);
    if (r.dsn || r.mail) await outbox.insertDsnFacts(c, r, id);
    return id;
  }

  private async facts(c: Client, row: NewSms, now: number, rules: PolicyRules): Promise<AcceptanceFacts> {
    const { floodLimit, duplicateSince } = acceptanceQuery(now, rules);
    let sameMessageId: AcceptanceFacts['sameMessageId'];
    if (row.messageId) {
      const first = await c.query<{
        queue_id: string;
        created_at: string;
        sms_count: number;
        coding: SmsRow['coding'];
      }>(
        `SELECT queue_id, created_at, sms_count, coding FROM sms
         WHERE message_id = $1 AND recipient = $2 AND state <> 'refused' ORDER BY id LIMIT 1`,
        [row.messageId, row.recipient],
      );
      const f = first.rows[0];
      if (f)
        sameMessageId = {
          queueId: f.queue_id,
          createdAt: Number(f.created_at),
          smsCount: f.sms_count,
          coding: f.coding,
        };
    }
    const recent =
      floodLimit > 0
        ? await c.query<{ created_at: string }>(
            `SELECT created_at FROM sms WHERE recipient = $1 AND state <> 'refused' ORDER BY created_at DESC LIMIT $2`,
            [row.recipient, floodLimit],
          )
        : { rows: [] };
    const dup = await c.query<{ t: string | null }>(
      `SELECT MAX(created_at) AS t FROM sms
       WHERE recipient = $1 AND created_at > $2 AND fingerprint = $3 AND state <> 'refused'`,
      [row.recipient, duplicateSince, row.fingerprint],
    );
    const t = dup.rows[0]?.t;
    return {
      sameMessageId,
      recentAccepted: recent.rows.map((r) => Number(r.created_at)),
      lastSameFingerprintAt: t === null || t === undefined ? undefined : Number(t),
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
    this.tx(async (c) => {
      // One recipient's rules are decided by one transaction at a time, on every node.
      if (rules) await c.query(LOCK_KEYS, [rows.map((r) => `rcpt:${r.recipient}`)]);
      const outcomes: AcceptOutcome[] = [];
      for (const row of rows) {
        if (!rules) {
          outcomes.push({ kind: 'queued', id: await this.insert(c, row, now) });
          continue;
        }
        const decision = decideAcceptance(await this.facts(c, row, now, rules), now, rules);
        switch (decision.kind) {
          case 'store':
            outcomes.push({ kind: 'queued', id: await this.insert(c, row, now) });
            break;
          case 'duplicate':
            await this.insert(c, { ...row, state: 'refused', reason: decision.reason }, now);
            outcomes.push({ kind: 'duplicate', ageMs: decision.ageMs, dropped: decision.dropped });
            break;
          default:
            outcomes.push(decision);
        }
      }
      return outcomes;
    });

  recentAccepted: SpoolStore['recentAccepted'] = async (recipient, limit) => {
    if (limit <= 0) return [];
    const rows = await this.read<{ created_at: string }>(
      `SELECT created_at FROM sms WHERE recipient = $1 AND state <> 'refused' ORDER BY created_at DESC LIMIT $2`,
      [recipient, Math.trunc(limit)],
    );
    return rows.map((r) => Number(r.created_at));
  };

  acceptedSince: SpoolStore['acceptedSince'] = async (since) => {
    const rows = await this.read<{ recipient: string; t: string }>(
      `SELECT recipient, MAX(created_at) AS t FROM sms
       WHERE created_at >= $1 AND state <> 'refused' GROUP BY recipient`,
      [since],
    );
    return rows.map((r) => [r.recipient, Number(r.t)]);
  };

  /** Only the binds lease's holder claims (the epoch is its fencing token); a node that is not holding takes none. */
  claim: SpoolStore['claim'] = (limit, now) =>
    this.epoch === undefined
      ? Promise.resolve([])
      : this.tx(async (c) => {
          const res = await c.query<PgRow>(
            `WITH due AS (
           SELECT id FROM sms WHERE state = 'queued' AND next_attempt_at <= $1
           ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE sms s SET state = 'sending', attempts = s.attempts + 1, updated_at = $1, owner = $3,
           lease_until = ${DB_NOW_MS} + $4::bigint, claim_epoch = $5
         FROM due WHERE s.id = due.id
         RETURNING s.*`,
            [now, limit, this.node, this.leaseMs, this.epoch ?? null],
          );
          return res.rows.map(fromPg).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
        });

  nextDue: SpoolStore['nextDue'] = async () => {
    const rows = await this.read<{ t: string | null }>(
      `SELECT MIN(next_attempt_at) AS t FROM sms WHERE state = 'queued'`,
    );
    const t = rows[0]?.t;
    return t === null || t === undefined ? undefined : Number(t);
  };

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

  storeInbound: SpoolStore['storeInbound'] = (msg: InboundSms, now) =>
    this.tx(async (c) => {
      await c.query(
        `INSERT INTO inbound (received_at, source_addr, destination_addr, data_coding, text)
         VALUES ($1, $2, $3, $4, $5)`,
        [now, msg.sourceAddr, msg.destinationAddr, msg.dataCoding, msg.text],
      );
    });

  /**
   * This node's rows caught 'sending' go back to the queue (a contract operation; a cluster node does not call it
   * at start: a row is orphaned only once its holder has lost the binds lease, see requeueOrphans).
   */
  requeueSending: SpoolStore['requeueSending'] = (now) =>
    this.tx(async (c) => {
      const res = await c.query(
        `UPDATE sms SET state = 'queued', next_attempt_at = $1, updated_at = $1, owner = NULL, lease_until = NULL,
           claim_epoch = NULL
         WHERE state = 'sending' AND owner = $2`,
        [now, this.node],
      );
      return res.rowCount ?? 0;
    });

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
    this.tx(async (c) => {
      const res = await c.query(
        `UPDATE sms SET state = 'expired', reason = $1, updated_at = $2 WHERE state = 'queued' AND created_at < $3`,
        [reason, now, before],
      );
      return res.rowCount ?? 0;
    });

  prune: SpoolStore['prune'] = (before) =>
    this.tx(async (c) => {
      await c.query('DELETE FROM early_receipts WHERE received_at < $1', [before]);
      // smsc_ids rows go with their sms row (ON DELETE CASCADE).
      const res = await c.query(`DELETE FROM sms WHERE state IN ${FINAL_STATES_SQL} AND updated_at < $1`, [before]);
      await outbox.pruneOutbox(c, before);
      return res.rowCount ?? 0;
    });

  // ---- The outbox (issue 15): see spool/postgres/outbox.ts ----

  reportsDue: OutboxStore['reportsDue'] = (now, sweep) =>
    this.tx((c) => outbox.reportsDue(c, now, sweep, FINAL_STATES_SQL));
  storeReply: OutboxStore['storeReply'] = (sms, now, settings) =>
    this.tx((c) => outbox.storeReply(c, sms, now, settings));
  storeReplyPart: OutboxStore['storeReplyPart'] = (part, now, how) =>
    this.tx((c) => replyParts.storeReplyPart(c, part, now, how));
  expireReplyParts: OutboxStore['expireReplyParts'] = (now, timeoutMs, how) =>
    this.tx((c) => replyParts.expireReplyParts(c, now, timeoutMs, how));
  claimOutbox: OutboxStore['claimOutbox'] = (limit, now, leaseMs, owner) =>
    this.tx((c) => outbox.claimOutbox(c, limit, now, leaseMs, owner));
  releaseOutbox: OutboxStore['releaseOutbox'] = (owner) =>
    this.tx(async (c) => (await c.query(RELEASE_OUTBOX_SQL.replace('?', '$1'), [owner])).rowCount ?? 0);
  outboxDone: OutboxStore['outboxDone'] = (id, result, now) => this.tx((c) => outbox.outboxDone(c, id, result, now));
  outboxFor: SpoolStore['outboxFor'] = async (queueId) =>
    (
      await this.read<RawOutbox>(
        `SELECT * FROM outbox WHERE COALESCE(facts->>'queueId', facts->'original'->>'queueId') = $1 ORDER BY id`,
        [queueId],
      )
    ).map(fromRawOutbox);
  listOutbox: OutboxStore['listOutbox'] = (limit) =>
    outbox.listOutbox(this.pool, limit).catch((e: unknown) => Promise.reject(this.failed(e)));
  outboxCounts: OutboxStore['outboxCounts'] = () =>
    outbox.outboxCounts(this.pool).catch((e: unknown) => Promise.reject(this.failed(e)));

  pendingCount: SpoolStore['pendingCount'] = async () => {
    const rows = await this.read<{ n: string }>(`SELECT COUNT(*) AS n FROM sms WHERE state IN ('queued','sending')`);
    return Number(rows[0]?.n ?? 0);
  };

  countsByState: SpoolStore['countsByState'] = async () => {
    const rows = await this.read<{ state: string; n: string }>('SELECT state, COUNT(*) AS n FROM sms GROUP BY state');
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  };

  oldestQueuedAt: SpoolStore['oldestQueuedAt'] = async () => {
    const rows = await this.read<{ t: string | null }>(
      `SELECT MIN(created_at) AS t FROM sms WHERE state IN ('queued','sending')`,
    );
    const t = rows[0]?.t;
    return t === null || t === undefined ? undefined : Number(t);
  };

  byQueueId: SpoolStore['byQueueId'] = async (queueId) =>
    (await this.read<PgRow>('SELECT * FROM sms WHERE queue_id = $1 ORDER BY id', [queueId])).map(fromPg);

  byId: SpoolStore['byId'] = async (id) => {
    const rows = await this.read<PgRow>('SELECT * FROM sms WHERE id = $1', [id]);
    return rows[0] ? fromPg(rows[0]) : undefined;
  };

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
    this.tx(async (c) => {
      const q = cancelQuery(id, scope, reason, now, POSTGRES_DIALECT);
      if ((await c.query(q.sql, q.params)).rowCount === 1) return { kind: 'cancelled' } as const;
      const s = stateQuery(id, scope, POSTGRES_DIALECT);
      const row = (await c.query<{ state: SmsState }>(s.sql, s.params)).rows[0];
      return row ? ({ kind: 'too-late', state: row.state } as const) : ({ kind: 'not-found' } as const);
    });

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
