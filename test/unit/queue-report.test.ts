/** `smtp2sms queue --id`: a row id or a queue id; a queue id is hex and may be all digits. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { queueReport } from '../../src/commands/queue.js';
import { SpoolReader } from '../../src/spool/sqlite/reader.js';
import { SqliteSpool } from '../../src/spool/sqlite/store.js';
import type { NewSms } from '../../src/spool/types.js';
import { newSms } from '../helpers/rows.js';

const row = (queueId: string): NewSms =>
  newSms('79990000001', {
    queueId,
    sourceAddr: 'Alerts',
    sourceTon: 5,
    text: 'disk full',
    fingerprint: `f-${queueId}`,
  });

it('an all-digit queue id (a random hex prefix of digits only) finds its message; a row id still does', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'queue-')), 's.sqlite');
  const store = new SqliteSpool(path);
  await store.accept([row('a1b2c3000001'), row('743770000002')], 1000);
  await store.close();
  const reader = new SpoolReader(path, 1000);
  try {
    const opts = { limit: 20, json: true, now: 2000 };
    const byQueueId = JSON.parse(await queueReport(reader, { ...opts, id: '743770000002' })) as Array<{ id: number }>;
    expect(byQueueId.map((r) => r.id)).toEqual([2]);
    const byRowId = JSON.parse(await queueReport(reader, { ...opts, id: '1' })) as Array<{ queueId: string }>;
    expect(byRowId.map((r) => r.queueId)).toEqual(['a1b2c3000001']);
  } finally {
    reader.close();
  }
});
