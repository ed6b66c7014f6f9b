import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpoolReader } from '../../src/spool/sqlite/reader.js';
import { SqliteSpool } from '../../src/spool/sqlite/store.js';
import type { NewSms } from '../../src/spool/types.js';
import { newSms } from '../helpers/rows.js';

const row = (recipient: string): NewSms => newSms(recipient);

const spoolFile = () => join(mkdtempSync(join(tmpdir(), 'spool-reader-')), 's.sqlite');

describe('SpoolReader (smtp2sms queue beside the daemon)', () => {
  it('lists newest first, by state, by acceptance time, up to a limit', async () => {
    const path = spoolFile();
    const writer = new SqliteSpool(path);
    await writer.accept([row('1')], 1_000);
    await writer.accept([row('2')], 2_000);
    await writer.accept([row('3')], 3_000);
    await writer.claim(1, 5_000);
    const reader = new SpoolReader(path, 1000);
    expect(reader.list({ limit: 10 }).map((r) => r.recipient)).toEqual(['3', '2', '1']);
    expect(reader.list({ limit: 2 }).map((r) => r.recipient)).toEqual(['3', '2']);
    expect(reader.list({ limit: 10, state: 'sending' }).map((r) => r.recipient)).toEqual(['1']);
    expect(reader.list({ limit: 10, since: 2_000 }).map((r) => r.recipient)).toEqual(['3', '2']);
    expect(reader.list({ limit: 10, since: 2_000, state: 'queued' }).map((r) => r.recipient)).toEqual(['3', '2']);
    expect(reader.countsByState()).toEqual({ queued: 2, sending: 1 });
    expect(reader.byQueueId('q2').map((r) => r.id)).toEqual([2]);
    reader.close();
    await writer.close();
  });

  it('opening it between a writer’s read and its write does not fail the write (the daemon’s set-up did)', async () => {
    const path = spoolFile();
    const writer = new SqliteSpool(path);
    await writer.accept([row('1')], 0);
    const tx = writer.db.transaction(() => {
      writer.db.prepare('SELECT COUNT(*) FROM sms').get(); // the transaction's snapshot starts here
      const reader = new SpoolReader(path, 1000);
      reader.list({ limit: 5 });
      reader.close();
      return writer.db.prepare(`UPDATE sms SET reason = 'written'`).run().changes;
    });
    expect(tx()).toBe(1);
    await writer.close();
  });

  it('cannot write, and a missing file is an error that creates nothing', () => {
    const path = spoolFile();
    void new SqliteSpool(path).close();
    const reader = new SpoolReader(path, 1000);
    const db = (reader as unknown as { db: { exec(sql: string): void } }).db;
    expect(() => db.exec('DELETE FROM sms')).toThrow(/readonly/);
    reader.close();
    const dir = mkdtempSync(join(tmpdir(), 'spool-reader-'));
    expect(() => new SpoolReader(join(dir, 'missing.sqlite'), 1000)).toThrow();
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, 'missing.sqlite'))).toBe(false);
  });

  it('the daemon’s connection waits busy_timeout_ms for a lock instead of failing at once', () => {
    const spool = new SqliteSpool(spoolFile(), 4321);
    expect(spool.db.pragma('busy_timeout', { simple: true })).toBe(4321);
    void spool.close();
  });
});
