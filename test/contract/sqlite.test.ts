/** The spool contract against the SQLite backend (real files). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSpool } from '../../src/spool/sqlite/store.js';
import type { InboundSms } from '../../src/spool/types.js';
import { outboxContract } from './outbox.contract.js';
import { spoolContract } from './spool.contract.js';

async function backend() {
  const path = join(mkdtempSync(join(tmpdir(), 'spool-')), 's.sqlite');
  let store = new SqliteSpool(path);
  return {
    get store() {
      return store;
    },
    async reopen() {
      await store.close();
      store = new SqliteSpool(path);
      return store;
    },
    async inbound() {
      const sql =
        'SELECT source_addr AS sourceAddr, destination_addr AS destinationAddr, data_coding AS dataCoding, ' +
        'text FROM inbound';
      return store.db.prepare(sql).all() as InboundSms[];
    },
  };
}

spoolContract('sqlite', backend);
outboxContract('sqlite', backend);
