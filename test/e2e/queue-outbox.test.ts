/**
 * `smtp2sms queue` shows what smtp2sms owes to senders besides SMS: reports and reply mails in the outbox (with the
 * smarthost's last error while it refuses them) and replies from phones that matched nothing, on both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { runCliAsync } from '../helpers/cli.js';
import { freePort, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { sendMail } from '../helpers/smtp-client.js';

const started = stopAfterEach();

interface QueueJson {
  outbox: {
    counts: { pending: number; sent: number; dropped: number };
    recent: Array<{
      kind: string;
      to: string;
      about: string;
      state: string;
      attempts: number;
      lastError: string | null;
    }>;
  };
  keptReplies: Array<{ from: string; to: string; text: string }>;
}

async function outboxCase(spool: Record<string, unknown>): Promise<void> {
  const sim = started.simulator(new SmscSimulator({ receiptStat: () => 'UNDELIV' }));
  const smscPort = await sim.listen(0);
  const dir = tempDir();
  // A smarthost nobody listens on: the report stays pending, with the refusal as its last error.
  const smarthost = await freePort();
  const config = testConfig(smscPort, dir, {
    outbound: { smtp_url: `smtp://127.0.0.1:${smarthost}`, retry_min_s: 60, retry_max_s: 60 },
    smpp: { source_addr: '79990001111' },
    ...spool,
  });
  const d = started.daemon(await spawnDaemon(config, dir));
  const sent = await sendMail(d.port, {
    from: 'alerts@example.org',
    to: ['+79991234567@sms.example.test'],
    body: 'Subject: disk\r\n\r\ndb1 disk full\r\n',
  });
  expect(sent.data[0]?.code ?? sent.mail.code).toBe(250);
  const queueId = /Queued as (\S+?):/.exec((sent.data[0] ?? sent.mail).text)?.[1];
  await waitFor(() => d.logs.some((l) => l.msg === 'receipt' && l.state === 'undeliverable'), 20_000, 'the receipt');
  await sim.sendFromPhone({ from: '79995550000', to: '79990001111', text: 'who is this?' });

  // The report is made by a sweep about once a second, and tried once against the closed smarthost.
  let report: QueueJson | undefined;
  for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 500))) {
    const r = await runCliAsync(['queue', '--json', '--config', d.configPath]);
    expect(r.stderr).toBe('');
    report = JSON.parse(r.stdout) as QueueJson;
    if (report.outbox.recent[0]?.lastError && report.keptReplies.length > 0) break;
  }
  expect(report!.outbox.counts).toEqual({ pending: 1, sent: 0, dropped: 0 });
  expect(report!.outbox.recent[0]).toMatchObject({
    kind: 'report (failed)',
    to: 'alerts@example.org',
    about: `${queueId} +79991234567`,
    state: 'pending',
    attempts: 1,
  });
  expect(report!.keptReplies).toEqual([
    { from: '+79995550000', to: '79990001111', text: 'who is this?', receivedAt: expect.any(String) },
  ]);

  const human = await runCliAsync(['queue', '--config', d.configPath]);
  expect(human.status).toBe(0);
  expect(human.stdout).toContain('outbox (reports and reply mails): pending 1, sent 0, dropped 0');
  expect(human.stdout).toMatch(
    /report \(failed\)\s+to alerts@example\.org about \S+ \+79991234567 pending ×1 next try \S+ {2}last error: /,
  );
  expect(human.stdout).toContain('+79995550000 → 79990001111: "who is this?"');
}

describe('smtp2sms queue: the outbox and kept replies', () => {
  it('on SQLite', () => outboxCase({}), 60_000);

  describe('on PostgreSQL', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db?.drop();
    });
    it('on PostgreSQL', () => outboxCase({ spool: { backend: 'postgres', url: db.url, pool_size: 4 } }), 60_000);
  });
});
