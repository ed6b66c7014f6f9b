/**
 * One daemon per spool. A second daemon on the same spool would requeue the first one's in-flight rows at its
 * start and send them again; so the daemon holds a lock on `<spool>.lock` for its whole life.
 *
 * The lock is SQLite's own: a small database whose write lock (RESERVED, a POSIX fcntl lock) is held by an open
 * transaction. The kernel drops it when the process dies, however it dies, so a SIGKILLed daemon never blocks the
 * next start (no stale-pid guessing), and the lock works wherever SQLite's locking does. The main spool is not
 * touched: `smtp2sms queue` still reads it. The holder's pid is committed in the lock database so a second daemon
 * can name it (a held write lock still lets others read).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

export class SpoolLockedError extends Error {
  constructor(
    readonly spoolPath: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      `the spool ${spoolPath} is in use by another smtp2sms (${holderPid === undefined ? 'pid unknown' : `pid ${holderPid}`}); ` +
        `one daemon per spool: stop that one or give this one another spool.path`,
    );
    this.name = 'SpoolLockedError';
  }
}

export interface SpoolLock {
  /** The lock file's absolute path. */
  readonly path: string;
  release(): void;
}

/** Take the spool's lock or throw SpoolLockedError naming the process that holds it. `:memory:` needs none. */
export function lockSpool(spoolPath: string, pid = process.pid): SpoolLock {
  if (spoolPath === ':memory:') return { path: spoolPath, release: () => undefined };
  const spool = resolve(spoolPath);
  const path = `${spool}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  // No busy wait: a held lock is an answer, not a moment to wait out.
  const db = new Database(path, { timeout: 0 });
  try {
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL)');
    const take = () => {
      try {
        db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
        // The holder may be committing its pid this very moment: reading may wait for that, briefly.
        db.pragma('busy_timeout = 1000');
        const row = db.prepare('SELECT pid FROM holder').get() as { pid: number } | undefined;
        throw new SpoolLockedError(spool, row?.pid);
      }
    };
    take();
    db.prepare('INSERT OR REPLACE INTO holder (id, pid) VALUES (1, ?)').run(pid);
    // The pid must be committed to be readable; the lock is taken again at once. A daemon that slipped in between
    // holds it now, and this one gets SpoolLockedError naming it: still one holder.
    db.exec('COMMIT');
    take();
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    path,
    release: () => {
      if (!db.open) return;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
