/**
 * Real faults for a running daemon's SQLite spool, made from outside it (no hook in the daemon):
 * - another writer holding the file's write lock: the daemon's writes wait `spool.busy_timeout_ms`, then fail;
 * - a full disk: the daemon's process may write no more file bytes (RLIMIT_FSIZE, set on it by prlimit(1); Node
 *   ignores SIGXFSZ, so a write fails with EFBIG and SQLite reports the disk full), lifted again later.
 */
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';

/** Takes the spool's write lock until release() (a WAL reader still reads meanwhile). */
export function holdWriteLock(spoolPath: string): { release(): void } {
  const db = new Database(spoolPath);
  db.exec('BEGIN IMMEDIATE');
  return {
    release() {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** From now on the process may grow no file (its disk is full) until the returned function lifts it (soft limit only). */
export function fillDisk(pid: number): () => void {
  execFileSync('prlimit', [`--pid=${pid}`, '--fsize=0:unlimited']);
  return () => execFileSync('prlimit', [`--pid=${pid}`, '--fsize=unlimited:unlimited']);
}
