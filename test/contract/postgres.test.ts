/** The spool contract against the PostgreSQL backend (the run's real server, a database of this file's own). */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/log.js';
import { openPool, preparePostgres } from '../../src/spool/postgres/connect.js';
import { PostgresStore } from '../../src/spool/postgres/store.js';
import type { InboundSms } from '../../src/spool/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { outboxContract } from './outbox.contract.js';
import { spoolContract } from './spool.contract.js';

const log = createLogger('silent');
let db: TestDatabase;
const spool = () => parseConfig({ spool: { backend: 'postgres', url: db.url, pool_size: 4 } }).spool;

beforeAll(async () => {
  db = await createTestDatabase();
  await preparePostgres(spool(), log);
});
afterAll(async () => {
  await db?.drop();
});

async function sql<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

async function backend() {
  // Each case starts empty, ids from 1, as a fresh SQLite file does.
  await sql(
    'TRUNCATE sms, smsc_ids, early_receipts, inbound, health_probe, sms_dsn, mail_facts, outbox, reply_parts ' +
      'RESTART IDENTITY',
  );
  // Each store acts as its node's binds holder (epoch 1): only the holder may write send outcomes.
  const open = () => Object.assign(new PostgresStore(openPool(spool(), log, 'contract'), 'contract'), { epoch: 1 });
  let store = open();
  return {
    get store() {
      return store;
    },
    async reopen() {
      await store.close();
      store = open();
      return store;
    },
    async inbound() {
      return sql<InboundSms>(
        'SELECT source_addr AS "sourceAddr", destination_addr AS "destinationAddr", data_coding AS ' +
          '"dataCoding", text FROM inbound ORDER BY id',
      );
    },
  };
}

spoolContract('postgres', backend);
outboxContract(
  'postgres',
  async () =>
    Object.assign(await backend(), {
      another: () => Object.assign(new PostgresStore(openPool(spool(), log, 'contract-2'), 'contract-2'), { epoch: 1 }),
    }),
  { shared: true },
);
