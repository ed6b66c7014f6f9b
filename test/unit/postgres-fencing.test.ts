/**
 * Issue 23 on a real PostgreSQL: the SMPP binds lease in database time (one holder, a new epoch per take-over, the
 * holder fenced by its own monotonic clock) and fenced writes (a deposed holder's late outcomes refused, the SMSC
 * id it learnt kept but never matched to the attempt that replaced it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/log.js';
import { BindLease, fenceMarginMs } from '../../src/spool/postgres/bind-lease.js';
import { openPool, poolConfig, preparePostgres } from '../../src/spool/postgres/connect.js';
import { PostgresStore } from '../../src/spool/postgres/store.js';
import type { SendOutcome } from '../../src/spool/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { newSms } from '../helpers/rows.js';

const log = createLogger('silent');
const spoolConfig = (url: string) => parseConfig({ spool: { backend: 'postgres', url, pool_size: 4 } }).spool;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await preparePostgres(spoolConfig(db.url), log);
});
afterAll(async () => {
  await db?.drop();
});

function lease(node: string, ttlMs: number, events: string[], monotonic?: () => number): BindLease {
  const { max: _m, idleTimeoutMillis: _i, ...client } = poolConfig(spoolConfig(db.url), `test ${node}`);
  return new BindLease({
    client,
    name: `binds-${ttlMs}`,
    node,
    ttlMs,
    log,
    onAcquired: (epoch) => events.push(`${node} acquired ${epoch}`),
    onLost: (reason) => events.push(`${node} lost: ${reason}`),
    ...(monotonic ? { monotonic } : {}),
  });
}

describe('the binds lease', () => {
  it('one holder at a time; a clean stop releases it at once, and the next holder gets the next epoch', async () => {
    const events: string[] = [];
    const a = lease('node-a', 30_000, events);
    const b = lease('node-b', 30_000, events);
    try {
      expect(await a.tryAcquire()).toBe(true);
      expect(await b.tryAcquire()).toBe(false);
      const first = a.epoch!;
      expect(a.mayAct()).toBe(true);
      expect(b.mayAct()).toBe(false);
      await a.stop();
      expect(await b.tryAcquire()).toBe(true);
      expect(b.epoch).toBe(first + 1);
      expect(events).toEqual([`node-a acquired ${first}`, `node-b acquired ${first + 1}`]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a holder past its fence (a freeze) may not act, and another node takes the lease once it expires', async () => {
    const events: string[] = [];
    let mono = 0;
    const ttl = 1500;
    const a = lease('node-a', ttl, events, () => mono);
    const b = lease('node-b', ttl, events);
    try {
      expect(await a.tryAcquire()).toBe(true);
      mono = ttl - fenceMarginMs(ttl) - 1;
      expect(a.mayAct()).toBe(true);
      // The process "wakes" past its fence: before its first submit it learns it may not act, and says so.
      mono = ttl - fenceMarginMs(ttl) + 1;
      expect(a.mayAct()).toBe(false);
      expect(events.at(-1)).toMatch(/^node-a lost: no renewal answered within cluster.failover_s/);
      // Not before the database's clock says the lease expired.
      expect(await b.tryAcquire()).toBe(false);
      await new Promise((r) => setTimeout(r, ttl + 200));
      expect(await b.tryAcquire()).toBe(true);
      expect(b.epoch).toBeGreaterThan(1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('fenced writes', () => {
  it("a deposed holder's late outcomes are refused; the SMSC id it learnt is kept but never matched", async () => {
    const fenced: SendOutcome[] = [];
    const pool = () => openPool(spoolConfig(db.url), log, 'fencing');
    const a = Object.assign(new PostgresStore(pool(), 'node-a'), { epoch: 10 });
    a.onFenced = (o) => fenced.push(o);
    const b: PostgresStore = Object.assign(new PostgresStore(pool(), 'node-b'), { epoch: 11 });
    try {
      const [queued] = await a.accept([newSms('79990001111', { queueId: 'q-fence', text: 'fence' })], 1000);
      const id = (queued as { id: number }).id;
      expect((await a.claim(10, 2000)).map((r) => r.id)).toContain(id);
      // node-b took the lease (epoch 11): node-a's rows are orphans; node-a's own current rows would not be.
      const orphans = await b.requeueOrphans(3000);
      expect(orphans).toContainEqual({ id, owner: 'node-a' });
      expect((await b.claim(10, 3000)).map((r) => r.id)).toContain(id);
      expect(await b.requeueOrphans(3001)).toEqual([]);
      // node-a's submit_sm_resp comes late: refused, told, its id kept as stale.
      await a.record([{ op: 'submitted', id, part: 0, smscId: 'AA1', last: true, now: 3100 }]);
      await a.record([{ op: 'finish', id, state: 'failed', reason: 'late', now: 3101 }]);
      expect(fenced.map((o) => o.op)).toEqual(['submitted', 'finish']);
      let row = await b.byId(id);
      expect([row?.state, row?.smscIds, row?.reason]).toEqual(['sending', [null], null]);
      // A receipt for the stale id does not settle the new attempt (kept, as for an id not known).
      expect(await b.applyReceipt('aa1', 'DELIVRD', '000', 3200)).toBe('early');
      await b.record([{ op: 'submitted', id, part: 0, smscId: 'BB1', last: true, now: 3300 }]);
      expect(await b.applyReceipt('bb1', 'DELIVRD', '000', 3400)).toMatchObject({ id, state: 'delivered' });
      row = await b.byId(id);
      expect([row?.smscIds, row?.receipts]).toEqual([['BB1'], ['DELIVRD']]);
      // Not holding (no epoch): nothing can be written either.
      b.epoch = undefined;
      await b.accept([newSms('79990001112', { queueId: 'q-fence-2', text: 'fence 2' })], 4000);
      expect(await b.claim(10, 4000)).toEqual([]);
      expect(await b.pendingCount()).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
