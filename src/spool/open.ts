/**
 * The one place that asks which spool is configured (spool.backend) and opens it: the daemon's claim on it before
 * anything listens, the work thread's store with its clock, and the read-only view `smtp2sms queue` takes.
 * Everything above it sees a SpoolStore, and a cluster only as the capability `cluster` (several nodes on one
 * database share the SMPP binds); no module outside spool/ names SQLite or PostgreSQL.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import type { QueueSource } from './queue-source.js';
import { lockSpool, SpoolLockedError, type SpoolLock } from './lock.js';
import { BindHolder, type BindHolderOptions } from './postgres/bind-holder.js';
import { enforceSharedSettings } from './postgres/cluster-settings.js';
import { clusterView, type ClusterView } from './postgres/cluster-view.js';
import { holdNodeId, openPool, preparePostgres } from './postgres/connect.js';
import { DbClock } from './postgres/db-clock.js';
import { SCHEMA_VERSION, schemaVersion } from './postgres/migrations.js';
import { PostgresReader } from './postgres/reader.js';
import { PostgresStore } from './postgres/store.js';
import { maskUrl } from '../config/postgres-url.js';
import { SpoolReader } from './sqlite/reader.js';
import { SqliteSpool } from './sqlite/store.js';
import type { SpoolStore } from './store.js';

/** The spool as logs name it: the SQLite file, or the PostgreSQL URL without its password. */
export function spoolShown(config: Config): string {
  return config.spool.backend === 'postgres' ? maskUrl(config.spool.url ?? '') : config.spool.path;
}

/** Several nodes share the spool: the node id names this one on the web page. */
export const sharedByNodes = (config: Config): boolean => config.spool.backend === 'postgres';

/**
 * Before the daemon opens anything else. SQLite: the file lock (a second daemon on this spool would requeue and
 * resend the first one's in-flight rows). PostgreSQL, where several nodes share one database: it must answer, be
 * new enough and have this version's schema (no 250 without somewhere to commit); this node's id must be its own
 * (rows are requeued by their owner's id); and the settings every node must share must match the cluster's.
 */
export async function claimSpool(config: Config, log: Logger, signal?: AbortSignal): Promise<SpoolLock> {
  if (config.spool.backend === 'postgres') {
    await preparePostgres(config.spool, log, signal);
    const nodeLock = await holdNodeId(config.spool, config.node.id, config.cluster.failover_s * 1000, log);
    try {
      await enforceSharedSettings(config, log);
    } catch (err) {
      await nodeLock.stop();
      throw err;
    }
    return { path: spoolShown(config), release: () => void nodeLock.stop() };
  }
  try {
    return lockSpool(config.spool.path);
  } catch (err) {
    if (err instanceof SpoolLockedError) log.fatal({ spool: err.spoolPath, holderPid: err.holderPid }, err.message);
    throw err;
  }
}

/** What several nodes on one database add: the store the binds lease and its fencing work on, and their view. */
export interface ClusterSpool {
  store: PostgresStore;
  view(): Promise<ClusterView>;
  /** Hold the SMPP binds for the cluster while this node has the lease (bind-holder.ts). */
  holdBinds(o: Omit<BindHolderOptions, 'config' | 'store'>): BindHolder;
}

export type { ClusterView };

export interface WorkSpool {
  store: SpoolStore;
  /** The time every write and judgement uses: the database's on a cluster (corrected by the measured offset). */
  clock: () => number;
  /** The clock's offset from the database's, as last measured (0 for one node). */
  offsetMs(): number;
  /** Why this node takes no mail now (its clock is off, or a newer node migrated the schema), if so. */
  problem(): string | undefined;
  /** Set for several nodes on one database; undefined for one node alone, which always holds its binds. */
  cluster: ClusterSpool | undefined;
}

const WATCH_EVERY_MS = 5000;

export interface WorkSpoolOptions {
  config: Config;
  /** The SQLite file (the daemon resolved it) and how long a write waits for the file lock. */
  path: string;
  busyTimeoutMs: number;
  log: Logger;
  /** Each measurement of the clock's offset (the cluster's metric). */
  onOffset?: (offsetMs: number) => void;
}

/** The work thread's spool. A lone node's rows left 'sending' at its last stop are its own: requeued here. */
export async function openWorkSpool(o: WorkSpoolOptions): Promise<WorkSpool> {
  const { config, log } = o;
  if (config.spool.backend !== 'postgres') {
    const sqlite = new SqliteSpool(o.path, o.busyTimeoutMs);
    sqlite.onLost = (reason) =>
      log.error({ spool: o.path }, `${reason}: mail gets 451 4.3.0 and /healthz fails until a restart`);
    const requeued = await sqlite.requeueSending(Date.now());
    if (requeued > 0) log.warn({ requeued }, 'messages caught mid-send by the last stop go out again (at-least-once)');
    return {
      store: sqlite,
      clock: Date.now,
      offsetMs: () => 0,
      problem: () => undefined,
      cluster: undefined,
    };
  }
  // The daemon has checked the database and migrated its schema before starting this thread. In a cluster a row
  // is orphaned only once its holder lost the binds lease: the node that takes the lease requeues (never a
  // standby at its start).
  const node = config.node.id;
  const store = new PostgresStore(openPool(config.spool, log, node), node, config.cluster.lease_s * 1000);
  let lastClockProblem: string | undefined;
  let schemaProblem: string | undefined;
  // Every time this node writes or judges is the database's: measured before the first mail.
  const dbClock: DbClock = new DbClock(
    store.pool,
    config.cluster.max_clock_skew_s * 1000,
    WATCH_EVERY_MS,
    Date.now,
    (r) => {
      o.onOffset?.(r.offsetMs);
      const problem = dbClock.problem();
      if (problem && problem !== lastClockProblem)
        log.error({ offsetMs: Math.round(r.offsetMs) }, `${problem}: mail gets 451`);
      if (!problem && lastClockProblem)
        log.info({ offsetMs: Math.round(r.offsetMs) }, 'clock back within cluster.max_clock_skew_s');
      lastClockProblem = problem;
    },
  );
  await dbClock.start();
  // A newer smtp2sms migrated the schema under this one: it stops taking mail and says why (a restart on the new
  // version fixes it).
  const watch = setInterval(() => {
    void (async () => {
      const c = await store.pool.connect();
      try {
        const v = await schemaVersion(c);
        const problem =
          v > SCHEMA_VERSION
            ? `the spool's schema is version ${v}, newer than this smtp2sms knows (${SCHEMA_VERSION}): upgrade this node`
            : undefined;
        if (problem && !schemaProblem) log.error(`${problem}; mail gets 451 until then`);
        schemaProblem = problem;
      } finally {
        c.release();
      }
    })().catch(() => undefined);
  }, WATCH_EVERY_MS);
  watch.unref();
  return {
    store,
    clock: dbClock.now,
    offsetMs: () => dbClock.offsetMs,
    problem: () => dbClock.problem() ?? schemaProblem,
    cluster: {
      store,
      view: () => clusterView(store.pool),
      holdBinds: (h) => new BindHolder({ ...h, config, store }),
    },
  };
}

/**
 * Read-only, without the daemon's set-up, for `smtp2sms queue`: a running daemon's writes never wait for (or fail
 * because of) it. A missing SQLite file is the usual sign of a relative spool.path read from another directory:
 * the error names the absolute path looked at.
 */
export async function openQueueReader(config: Config): Promise<QueueSource> {
  if (config.spool.backend === 'postgres') return PostgresReader.open(config.spool);
  const path = config.spool.path;
  if (!existsSync(path)) {
    throw new UsageError(`no spool at ${path} (spool.path; relative to the working directory ${process.cwd()})`);
  }
  return new SpoolReader(path, config.spool.busy_timeout_ms);
}
