/**
 * Connecting to the PostgreSQL spool: the pool's settings, and the start-up check (reachable, credentials, version,
 * schema). A database that does not answer yet is waited for with back-off, one log line per attempt, instead of a
 * crash loop; what waiting cannot fix (wrong credentials, no such database, a server too old, a schema newer than
 * this smtp2sms) ends the start with exit 2, naming spool.url with its password masked.
 */
import pg from 'pg';
import type { Config } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import type { Logger } from '../../ops/log.js';
import { migrate, SchemaTooNewError } from './migrations.js';
import { LOCK_SPACE, SessionLock } from './session-lock.js';
import { maskUrl, withPassword } from '../../config/postgres-url.js';

/** DROP DATABASE … WITH (FORCE) and the INCLUDE indexes the schema leans on are there from 13. */
export const MIN_SERVER_VERSION_NUM = 130_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5000;

/** SQLSTATEs no retry can fix: bad password or role, no such database, no right to connect or create. */
const FATAL_CODES = new Set(['28P01', '28000', '3D000', '42501', '3F000']);

/** A start the operator must fix: exit 2 (config-class), the message says what and where. */
export class SpoolStartRefused extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolStartRefused';
  }
}

type SpoolConfig = Config['spool'];

export function connectionString(spool: SpoolConfig): string {
  if (spool.url === null) throw new SpoolStartRefused('spool.url: required when spool.backend is postgres');
  return withPassword(spool.url, spool.password);
}

/**
 * The pool's settings. Every session commits synchronously whatever the server's or role's default says: a
 * mail gets 250 only after its COMMIT is on disk (synchronous_commit=off would say 250 before the flush).
 */
export function poolConfig(spool: SpoolConfig, applicationName = 'smtp2sms', readOnly = false): pg.PoolConfig {
  const options = ['-c synchronous_commit=on', ...sessionTimeouts(spool)];
  if (spool.statement_timeout_ms > 0) options.push(`-c statement_timeout=${spool.statement_timeout_ms}`);
  if (readOnly) options.push('-c default_transaction_read_only=on');
  return {
    connectionString: connectionString(spool),
    max: spool.pool_size,
    options: options.join(' '),
    application_name: applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // The client gives up too, when the server does not answer at all (a hung or cut path): the failed
    // connection is not given back to the pool, and the caller gets a SpoolError (451, or a retry).
    query_timeout: queryTimeoutMs(spool),
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  };
}

/**
 * Nothing waits forever on another node: a session that stops talking inside a transaction (its node frozen or cut
 * off) is ended by the server after IDLE_IN_TRANSACTION_MS, which releases its locks (a recipient's rules lock, a
 * claimed row); a lock not granted within LOCK_TIMEOUT_MS fails the statement (the mail gets 451, the client
 * retries) instead of queueing behind it.
 */
export const IDLE_IN_TRANSACTION_MS = 3000;
export const LOCK_TIMEOUT_MS = 5000;

export function sessionTimeouts(_spool: SpoolConfig): string[] {
  return [`-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`, `-c lock_timeout=${LOCK_TIMEOUT_MS}`];
}

/** The client's own limit on one query: the server's statement_timeout and a margin, or 30 s without one. */
export function queryTimeoutMs(spool: SpoolConfig): number {
  return spool.statement_timeout_ms > 0 ? spool.statement_timeout_ms + 2000 : 30_000;
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** What to tell the operator about a failed connection (no password: pg's messages name the user, never it). */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return `${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`;
}

export function isFatalConnectError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && FATAL_CODES.has(state);
}

/** One connection that answers, with the server's version checked; waits (with back-off) while it cannot. */
async function connectWhenUp(spool: SpoolConfig, log: Logger, signal?: AbortSignal): Promise<pg.Client> {
  const shown = maskUrl(spool.url ?? '');
  let delay = RETRY_MIN_MS;
  for (let attempt = 1; ; attempt++) {
    const { max: _max, idleTimeoutMillis: _idle, ...clientConfig } = poolConfig(spool, 'smtp2sms-start');
    const client = new pg.Client(clientConfig);
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (isFatalConnectError(err)) {
        throw new SpoolStartRefused(
          `spool.url: the PostgreSQL spool at ${shown} refused the connection: ${describe(err)}`,
        );
      }
      log.warn(
        { spool: shown, attempt, retryInMs: delay, err: describe(err) },
        'PostgreSQL spool not reachable; SMTP opens once it answers',
      );
      await sleep(delay, signal);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Before the daemon opens anything: the database answers, is new enough, and its schema is brought to this
 * version (once, whichever node gets there first). Throws SpoolStartRefused for what the operator must fix.
 */
export async function preparePostgres(spool: SpoolConfig, log: Logger, signal?: AbortSignal): Promise<void> {
  const shown = maskUrl(spool.url ?? '');
  const client = await connectWhenUp(spool, log, signal);
  try {
    const v = await client.query<{ n: string; v: string }>(
      `SELECT current_setting('server_version_num') AS n, current_setting('server_version') AS v`,
    );
    const num = Number(v.rows[0]?.n);
    if (num < MIN_SERVER_VERSION_NUM) {
      throw new SpoolStartRefused(
        `spool.url: PostgreSQL ${v.rows[0]?.v} at ${shown} is too old; smtp2sms needs 13 or newer`,
      );
    }
    const fsync = await client.query<{ f: string }>(`SELECT current_setting('fsync') AS f`);
    if (fsync.rows[0]?.f !== 'on') {
      log.warn({ spool: shown }, 'the PostgreSQL server runs with fsync=off: a committed mail can be lost in a crash');
    }
    const applied = await migrate(client);
    if (applied.length > 0) log.info({ spool: shown, applied }, 'PostgreSQL spool schema migrated');
  } catch (err) {
    if (err instanceof SchemaTooNewError) throw new SpoolStartRefused(`spool.url: ${err.message} (${shown})`);
    if (err instanceof SpoolStartRefused) throw err;
    if (isFatalConnectError(err)) throw new SpoolStartRefused(`spool.url: ${shown}: ${describe(err)}`);
    throw new Error(`PostgreSQL spool set-up failed at ${shown}: ${describe(err)}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The daemon's pool. A pooled connection the server drops while idle (a restart, a failover) is an 'error' on the
 * pool: without a listener it would end the process; the pool has already discarded it and opens a new one when
 * asked.
 */
export function openPool(spool: SpoolConfig, log: Logger, node: string): pg.Pool {
  const pool = new pg.Pool(poolConfig(spool, `smtp2sms ${node}`.slice(0, 63)));
  pool.on('error', (err) => log.warn({ err: describe(err) }, 'PostgreSQL spool connection lost; the pool reconnects'));
  return pool;
}

/**
 * This node's id, held for the daemon's life as a session advisory lock: a second live node claiming the same id
 * is refused (exit 2 naming node.id), since a node requeues the rows of its id at start and would resend the
 * other's. If the lock's connection drops, the lock is taken again when the database answers.
 */
export async function holdNodeId(
  spool: SpoolConfig,
  id: string,
  releaseAfterMs: number,
  log: Logger,
): Promise<SessionLock> {
  const { max: _max, idleTimeoutMillis: _idle, ...client } = poolConfig(spool, `smtp2sms ${id} node`.slice(0, 63));
  let started = false;
  const lock = new SessionLock({
    client,
    space: LOCK_SPACE.node,
    name: id,
    checkMs: releaseAfterMs / 3,
    retryMs: releaseAfterMs / 3,
    releaseAfterMs,
    log,
    onLost: (reason) =>
      log.warn({ node: id, reason }, 'lost the node id lock; taking it again when PostgreSQL answers'),
    onAcquired: () => {
      if (started) log.info({ node: id }, 'node id lock taken again');
    },
  });
  let ok: boolean;
  try {
    ok = await lock.tryAcquire();
  } catch (err) {
    await lock.stop();
    const shown = maskUrl(spool.url ?? '');
    throw new Error(`PostgreSQL spool: cannot lock node.id at ${shown}: ${describe(err)}`, { cause: err });
  }
  if (!ok) {
    await lock.stop();
    throw new SpoolStartRefused(
      `node.id: another live node uses the id "${id}" on ${maskUrl(spool.url ?? '')}; give each node its own node.id`,
    );
  }
  started = true;
  lock.run();
  return lock;
}
