/**
 * The spool as another process reads it (`smtp2sms queue`) while the daemon writes it. The connection is opened
 * read-only and runs no set-up: the daemon's set-up (schema statements, `user_version`, journal pragmas) takes the
 * write lock, and a writer's transaction that had read before it could not upgrade to a write (SQLITE_BUSY, no
 * busy wait), so the daemon answered 451 and lost send outcomes while `queue` ran. In WAL mode a reader never
 * blocks the writer, and a read-only connection cannot create the file, its directory, or change anything.
 */
import Database from 'better-sqlite3';
import type { OutboxRow } from '../../outbox/facts.js';
import type { KeptReply, OutboxCounts } from '../outbox-contract.js';
import type { SmsRow, SmsState } from '../types.js';
import * as q from '../queue/lifecycle.js';
import { listOutbox, outboxCounts } from '../queue/outbox.js';
import { sqliteRunner } from './engine.js';
import { fromRaw, type RawRow } from './store.js';

export interface ListFilter {
  state?: SmsState;
  /** Only rows accepted at or after this time (ms since the epoch). */
  since?: number;
  limit: number;
}

export class SpoolReader {
  private readonly db: Database.Database;
  private readonly run = sqliteRunner((text) => this.db.prepare(text));

  /** Throws when the file does not exist (fileMustExist: nothing is created). */
  constructor(
    readonly path: string,
    busyTimeoutMs: number,
  ) {
    // The timeout only covers the rare moments a reader must wait (the WAL being recovered or restarted).
    this.db = new Database(path, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  }

  countsByState(): Record<string, number> {
    return this.run(q.countsByState());
  }

  /** The latest rows (newest first) matching the filter. */
  list(filter: ListFilter): SmsRow[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit };
    if (filter.state !== undefined) {
      where.push('state = @state');
      params.state = filter.state;
    }
    if (filter.since !== undefined) {
      where.push('created_at >= @since');
      params.since = filter.since;
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const sql = `SELECT * FROM sms ${clause} ORDER BY id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as RawRow[]).map(fromRaw);
  }

  byId(id: number): SmsRow | undefined {
    return this.run(q.byId(id));
  }

  byQueueId(queueId: string): SmsRow[] {
    return this.run(q.byQueueId(queueId));
  }

  /** A spool an older daemon made and the current one has not opened yet has no outbox: nothing to show. */
  private has(table: string): boolean {
    return this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
  }

  outboxCounts(): OutboxCounts {
    return this.has('outbox') ? this.run(outboxCounts()) : { pending: 0, sent: 0, dropped: 0 };
  }

  listOutbox(limit: number): OutboxRow[] {
    return this.has('outbox') ? this.run(listOutbox(limit)) : [];
  }

  keptReplies(limit: number): KeptReply[] {
    const sql = `SELECT received_at AS receivedAt, source_addr AS sourceAddr, destination_addr AS destinationAddr, text
      FROM inbound ORDER BY id DESC LIMIT ?`;
    return this.db.prepare(sql).all(limit) as KeptReply[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
