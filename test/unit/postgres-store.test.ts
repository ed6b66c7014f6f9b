/**
 * The PostgreSQL spool on a real server (the run's throwaway PostgreSQL, a fresh database for this file): schema
 * migrations, the provider's rules across concurrent transactions, claims, receipts in every order. The contract
 * suite (test/contract) covers the rest of the SpoolStore behaviour against both backends.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/log.js';
import type { PolicyRules } from '../../src/policy/rules.js';
import { openPool, preparePostgres, SpoolStartRefused } from '../../src/spool/postgres/connect.js';
import { migrate, MIGRATIONS, SCHEMA_VERSION } from '../../src/spool/postgres/migrations.js';
import { PostgresStore } from '../../src/spool/postgres/store.js';
import { FINAL_STATES, type NewSms } from '../../src/spool/types.js';
import { FINAL_STATES_SQL } from '../../src/spool/postgres/migrations.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { newSms } from '../helpers/rows.js';

const rules: PolicyRules = {
  duplicateWindowMs: 60_000,
  duplicateAction: 'reject',
  retransmitWindowMs: 86_400_000,
  floodMax: 50,
  floodGapMs: 30_000,
};
const row = (recipient: string, text: string, messageId: string | null = null): NewSms =>
  newSms(recipient, {
    queueId: `q-${text}`,
    sourceAddr: 'Alerts',
    sourceTon: 5,
    text,
    messageId,
    fingerprint: `${recipient}|Alerts|${text}`,
  });
const log = createLogger('silent');
const spoolConfig = (url: string) => parseConfig({ spool: { backend: 'postgres', url, pool_size: 4 } }).spool;

let db: TestDatabase;
let store: PostgresStore;

beforeAll(async () => {
  db = await createTestDatabase();
  await preparePostgres(spoolConfig(db.url), log);
  store = Object.assign(new PostgresStore(openPool(spoolConfig(db.url), log, 'node-a'), 'node-a'), { epoch: 1 });
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe('schema', () => {
  it('migrates once even when several nodes start together, and a second start changes nothing', async () => {
    const fresh = await createTestDatabase();
    try {
      const clients = await Promise.all(
        [1, 2, 3].map(async () => {
          const c = new pg.Client({ connectionString: fresh.url });
          await c.connect();
          return c;
        }),
      );
      const applied = await Promise.all(clients.map((c) => migrate(c)));
      expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.version));
      await Promise.all(clients.map((c) => c.end()));
      await preparePostgres(spoolConfig(fresh.url), log);
    } finally {
      await fresh.drop();
    }
  });

  it('a schema newer than this smtp2sms knows: refused, naming both versions', async () => {
    const fresh = await createTestDatabase();
    try {
      await preparePostgres(spoolConfig(fresh.url), log);
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      await c.query('INSERT INTO smtp2sms_schema_version (version) VALUES ($1)', [SCHEMA_VERSION + 1]);
      await c.end();
      const err = await preparePostgres(spoolConfig(fresh.url), log).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpoolStartRefused);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^spool\\.url: the PostgreSQL spool has schema version ${SCHEMA_VERSION + 1}; this smtp2sms knows up to ${SCHEMA_VERSION}`,
        ),
      );
    } finally {
      await fresh.drop();
    }
  });

  it('wrong credentials: refused at once (no retry), naming spool.url with the password masked', async () => {
    const url = new URL(db.url);
    url.password = 'wrong-hunter2';
    const err = await preparePostgres(spoolConfig(url.href), log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolStartRefused);
    expect((err as Error).message).toMatch(/^spool\.url: .*:\*\*\*@.*password authentication failed.*\(28P01\)/);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('the spool’s sessions commit synchronously even when the database’s default says off', async () => {
    const fresh = await createTestDatabase();
    try {
      const admin = new pg.Client({ connectionString: fresh.url });
      await admin.connect();
      await admin.query(`ALTER DATABASE ${new URL(fresh.url).pathname.slice(1)} SET synchronous_commit = off`);
      await admin.end();
      const pool = openPool(spoolConfig(fresh.url), log, 'node-a');
      const r = await pool.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`);
      await pool.end();
      expect(r.rows[0]?.s).toBe('on');
    } finally {
      await fresh.drop();
    }
  });

  it('the final states of the partial indexes are the spool’s', () => {
    expect(FINAL_STATES_SQL).toBe(`(${FINAL_STATES.map((s) => `'${s}'`).join(',')})`);
  });
});

describe('acceptance under the provider rules', () => {
  it('identical mails accepted at the same moment on separate connections: one queued, one duplicate', async () => {
    const other = Object.assign(new PostgresStore(openPool(spoolConfig(db.url), log, 'node-b'), 'node-b'), {
      epoch: 1,
    });
    try {
      const outcomes = await Promise.all([
        store.accept([row('7100', 'same')], 1000, rules),
        other.accept([row('7100', 'same')], 1000, rules),
      ]);
      expect(
        outcomes
          .flat()
          .map((o) => o.kind)
          .sort(),
      ).toEqual(['duplicate', 'queued']);
    } finally {
      await other.close();
    }
  });

  it('the 51st mail within the gap is a flood; a Message-ID seen before is a retransmission', async () => {
    for (let i = 0; i < 50; i++) await store.accept([row('7200', `m${i}`)], 10_000 + i, rules);
    expect(await store.accept([row('7200', 'm50')], 10_100, rules)).toEqual([{ kind: 'flood' }]);
    const [first] = await store.accept([row('7300', 'once', '<a@b>')], 20_000, rules);
    expect(first?.kind).toBe('queued');
    expect(await store.accept([row('7300', 'once', '<a@b>')], 20_500, rules)).toEqual([
      { kind: 'retransmission', queueId: 'q-once', smsCount: 1, coding: 'gsm7' },
    ]);
  });
});

describe('claims and receipts', () => {
  it('concurrent claims never take the same row; a receipt before its submit_sm_resp is kept and applied', async () => {
    const ids = (await store.accept([row('7400', 'c1'), row('7401', 'c2'), row('7402', 'c3')], 30_000)).map(
      (o) => (o as { id: number }).id,
    );
    const [a, b] = await Promise.all([store.claim(100, 40_000), store.claim(100, 40_000)]);
    const taken = [...(a ?? []), ...(b ?? [])].map((r) => r.id);
    expect(new Set(taken).size).toBe(taken.length);
    expect(taken).toEqual(expect.arrayContaining(ids));
    const id = ids[0] as number;
    expect(await store.applyReceipt('00FF', 'DELIVRD', '000', 40_001)).toBe('early');
    await store.record([{ op: 'submitted', id, part: 0, smscId: '255', last: true, now: 40_002 }]);
    // Another form of the id ("ff" for 255) counts only once no exact form can still come: the other rows are
    // still being sent, so it waits until the submits in flight when it came are answered (the sweep).
    expect((await store.byId(id))?.state).toBe('submitted');
    expect((await store.resolveEarlyReceipts(40_002, 40_003)).map((u) => u.id)).toEqual([id]);
    expect((await store.byId(id))?.state).toBe('delivered');
    const second = ids[1] as number;
    await store.record([{ op: 'submitted', id: second, part: 0, smscId: 'ABC', last: true, now: 40_003 }]);
    expect(await store.applyReceipt('0abc', 'UNDELIV', '001', 40_004)).toMatchObject({
      id: second,
      state: 'undeliverable',
    });
  });
});
