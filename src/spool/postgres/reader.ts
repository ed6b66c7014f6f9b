/**
 * The PostgreSQL spool as `smtp2sms queue` reads it: a session that cannot write (default_transaction_read_only),
 * no migrations, no set-up. A database without smtp2sms's schema, or with a newer one, is said so.
 */
import pg from 'pg';
import type { Config } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import type { OutboxRow } from '../../outbox/facts.js';
import type { KeptReply, OutboxCounts } from '../outbox-contract.js';
import type { SmsRow } from '../types.js';
import { listOutbox, outboxCounts } from '../queue/outbox.js';
import { postgresRunner } from './engine.js';
import { poolConfig } from './connect.js';
import { schemaVersion, SCHEMA_VERSION } from './migrations.js';
import { fromPg } from './store.js';
import { maskUrl } from '../../config/postgres-url.js';

export interface PgListFilter {
  state?: string;
  since?: number;
  limit: number;
}

type PgRow = Parameters<typeof fromPg>[0];

export class PostgresReader {
  private constructor(private readonly client: pg.Client) {}

  static async open(spool: Config['spool']): Promise<PostgresReader> {
    const shown = maskUrl(spool.url ?? '');
    const { max: _max, idleTimeoutMillis: _idle, ...config } = poolConfig(spool, 'smtp2sms queue', true);
    const client = new pg.Client(config);
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw new UsageError(`spool.url: cannot read the PostgreSQL spool at ${shown}: ${(err as Error).message}`);
    }
    const version = await schemaVersion(client);
    if (version === 0 || version > SCHEMA_VERSION) {
      await client.end().catch(() => undefined);
      throw new UsageError(
        version === 0
          ? `spool.url: no smtp2sms spool at ${shown} (the daemon creates its tables at its first start)`
          : `spool.url: the spool at ${shown} has schema version ${version}; ` +
              `this smtp2sms knows up to ${SCHEMA_VERSION}`,
      );
    }
    return new PostgresReader(client);
  }

  async countsByState(): Promise<Record<string, number>> {
    const r = await this.client.query<{ state: string; n: string }>(
      'SELECT state, COUNT(*) AS n FROM sms GROUP BY state',
    );
    return Object.fromEntries(r.rows.map((x) => [x.state, Number(x.n)]));
  }

  async list(filter: PgListFilter): Promise<SmsRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state !== undefined) where.push(`state = $${params.push(filter.state)}`);
    if (filter.since !== undefined) where.push(`created_at >= $${params.push(filter.since)}`);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const sql = `SELECT * FROM sms ${clause} ORDER BY id DESC LIMIT $${params.push(filter.limit)}`;
    return (await this.client.query<PgRow>(sql, params)).rows.map(fromPg);
  }

  async byId(id: number): Promise<SmsRow | undefined> {
    const r = await this.client.query<PgRow>('SELECT * FROM sms WHERE id = $1', [id]);
    return r.rows[0] ? fromPg(r.rows[0]) : undefined;
  }

  async byQueueId(queueId: string): Promise<SmsRow[]> {
    return (await this.client.query<PgRow>('SELECT * FROM sms WHERE queue_id = $1 ORDER BY id', [queueId])).rows.map(
      fromPg,
    );
  }

  outboxCounts(): Promise<OutboxCounts> {
    return postgresRunner(this.client)(outboxCounts());
  }

  listOutbox(limit: number): Promise<OutboxRow[]> {
    return postgresRunner(this.client)(listOutbox(limit));
  }

  async keptReplies(limit: number): Promise<KeptReply[]> {
    const sql = `SELECT received_at, source_addr, destination_addr, text FROM inbound ORDER BY id DESC LIMIT $1`;
    const r = await this.client.query<{
      received_at: string;
      source_addr: string;
      destination_addr: string;
      text: string;
    }>(sql, [limit]);
    return r.rows.map((x) => ({
      receivedAt: Number(x.received_at),
      sourceAddr: x.source_addr,
      destinationAddr: x.destination_addr,
      text: x.text,
    }));
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
