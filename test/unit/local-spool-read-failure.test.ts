/**
 * The relay's wait starts before the store answers (LocalSpool.claim). When that answer is a failure (PostgreSQL
 * down for the read, back for the next mail's commit), mail handed over to the wait meanwhile was committed and
 * got 250: it must reach the relay, not stay 'sending' unseen until a restart. Seen in
 * test/e2e/spool-postgres.test.ts (rows stuck 'sending', attempts 1, no SMSC id). The store is real (SQLite); only
 * its one read fails, as a read on a dropped database connection does.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalSpool } from '../../src/spool/local.js';
import { SqliteSpool } from '../../src/spool/sqlite/store.js';
import type { SpoolStore } from '../../src/spool/store.js';
import { SpoolError, type NewSms } from '../../src/spool/types.js';
import { newSms } from '../helpers/rows.js';

const row = (recipient: string): NewSms =>
  newSms(recipient, { queueId: `q-${recipient}`, sourceAddr: 'Alerts', sourceTon: 5 });

describe('a failed read while the relay waits', () => {
  it('mail handed over meanwhile reaches the relay (with the failed claim or the next one)', async () => {
    const sqlite = new SqliteSpool(join(mkdtempSync(join(tmpdir(), 'local-')), 's.sqlite'));
    let failNextDue: (() => void) | undefined;
    let failing = true;
    // The read answers only after the mail below has committed, and then with the error a lost connection gives.
    const store: SpoolStore = Object.create(sqlite, {
      nextDue: {
        value: () =>
          failing
            ? new Promise((_, reject) => {
                failNextDue = () =>
                  reject(new SpoolError(new Error('terminating connection due to administrator command')));
              })
            : sqlite.nextDue(),
      },
    });
    const spool = new LocalSpool(store);
    const claim = spool.claim(10, Date.now(), 5000).then(
      (rows) => rows,
      () => [],
    );
    const [outcome] = await spool.accept([row('79990000001')], Date.now());
    expect(outcome?.kind).toBe('queued');
    failNextDue?.();
    failing = false;
    const first = await claim;
    const next = first.length > 0 ? [] : await spool.claim(10, Date.now(), 50);
    expect([...first, ...next].map((r) => r.recipient)).toEqual(['79990000001']);
    await spool.close();
  });
});
