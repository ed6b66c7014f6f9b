/** What only the SQLite backend has: its pragmas, group commit, schema upgrades. The rest is the spool contract. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PolicyRules } from '../../src/policy/rules.js';
import { SqliteSpool } from '../../src/spool/sqlite/store.js';
import type { NewSms } from '../../src/spool/types.js';
import { newSms } from '../helpers/rows.js';

const rules: PolicyRules = {
  duplicateWindowMs: 60_000,
  duplicateAction: 'reject',
  retransmitWindowMs: 86_400_000,
  floodMax: 50,
  floodGapMs: 30_000,
};
const row = (recipient: string, text = 't'): NewSms => newSms(recipient, { queueId: 'q1', text });
const recipients = (spool: SqliteSpool) => spool.db.prepare('SELECT recipient FROM sms ORDER BY id').all();

let spool: SqliteSpool;
beforeEach(() => {
  spool = new SqliteSpool(join(mkdtempSync(join(tmpdir(), 'spool-')), 's.sqlite'));
});

describe('SQLite spool', () => {
  it('WAL with synchronous=FULL', () => {
    expect(spool.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(spool.db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('writes of one group commit: a failing one undoes only its own changes, the others commit', async () => {
    const insert = (r: string) =>
      spool.db
        .prepare(
          'INSERT INTO inbound (received_at, source_addr, destination_addr, data_coding, text) VALUES (1, ?, ?, 0, ?)',
        )
        .run(r, r, r);
    const first = spool.accept([row('1')], 1);
    const failing = spool.batch(() => {
      insert('half');
      throw new Error('half-done write');
    });
    const third = spool.accept([row('3')], 1);
    await expect(first).resolves.toEqual([{ kind: 'queued', id: 1 }]);
    await expect(failing).rejects.toThrow(/half-done write/);
    const [o3] = await third;
    expect((await spool.byId((o3 as { id: number }).id))!.recipient).toBe('3');
    expect(recipients(spool)).toEqual([{ recipient: '1' }, { recipient: '3' }]);
    expect(spool.db.prepare('SELECT COUNT(*) AS n FROM inbound').get()).toEqual({ n: 0 });
    expect(spool.db.inTransaction).toBe(false);
  });

  it('a group run again after a failure still finds the early receipt one of its writes uses', async () => {
    await spool.accept([row('1')], 0);
    await spool.claim(1, 0);
    expect(await spool.applyReceipt('0000B', 'DELIVRD', '000', 1)).toBe('early');
    // The first, optimistic run uses the early receipt, then the failing write rolls it all back.
    const record = spool.record([{ op: 'submitted', id: 1, part: 0, smscId: '11', last: true, now: 2 }]);
    const failing = spool.batch(() => {
      throw new Error('boom');
    });
    await record;
    await expect(failing).rejects.toThrow(/boom/);
    expect((await spool.byId(1))!.receipts).toEqual(['DELIVRD']);
    expect((await spool.byId(1))!.state).toBe('delivered');
  });

  it('a spool made by an older version loses its fingerprint index at open; the duplicate rule works the same', async () => {
    spool.db.exec('CREATE INDEX sms_fingerprint ON sms(fingerprint, created_at)');
    await spool.accept([row('7999', 'disk full')], 0, rules);
    await spool.close();
    spool = new SqliteSpool(spool.path);
    expect(
      spool.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'sms_fingerprint'`).all(),
    ).toEqual([]);
    expect(await spool.accept([row('7999', 'disk full')], 30_000, rules)).toEqual([
      { kind: 'duplicate', ageMs: 30_000, dropped: false },
    ]);
  });

  it('upgrades a file of the previous release: kept receipts get their submit date, SMSC ids their stale mark', async () => {
    const path = spool.path;
    // The previous release's two tables as it made them (their other tables are unchanged).
    spool.db.exec(`DROP TABLE smsc_ids; DROP TABLE early_receipts;
      CREATE TABLE smsc_ids (key TEXT NOT NULL, exact INTEGER NOT NULL DEFAULT 1, sms_id INTEGER NOT NULL, part INTEGER NOT NULL);
      CREATE TABLE early_receipts (key TEXT NOT NULL, stat TEXT NOT NULL, err TEXT, received_at INTEGER NOT NULL);
      INSERT INTO early_receipts (key, stat, err, received_at) VALUES ('abc', 'DELIVRD', NULL, 5)`);
    await spool.close();
    spool = new SqliteSpool(path);
    const columns = (t: string) => spool.db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(t);
    expect(columns('smsc_ids')).toContain('stale');
    expect(columns('early_receipts')).toContain('submit_at');
    // The kept receipt from before the upgrade still finds its part when the id is recorded.
    const [queued] = await spool.accept([row('79991234567')], 10);
    const id = (queued as { id: number }).id;
    await spool.claim(1, 10);
    await spool.record([{ op: 'submitted', id, part: 0, smscId: 'abc', last: true, now: 11 }]);
    expect((await spool.byId(id))?.state).toBe('delivered');
  });

  it('refuses a spool written by a newer schema', async () => {
    spool.db.pragma('user_version = 99');
    const path = spool.path;
    await spool.close();
    expect(() => new SqliteSpool(path)).toThrow(/schema version 99/);
  });
});
