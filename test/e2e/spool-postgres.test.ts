/**
 * The daemon (a child process) on the PostgreSQL spool: mail → SMS at the simulator, receipts settle the rows,
 * `queue` reads them; start-up refusals (exit 2, spool.url named, password masked) and the wait for a database
 * that does not answer yet; the database stopped under load: 451 while it is down, no 250 lost, all resumes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { runCliAsync } from '../helpers/cli.js';
import { freePort, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { ownPostgresForSuite } from '../helpers/own-postgres-suite.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { sendMail, type SmtpReply } from '../helpers/smtp-client.js';

const started = stopAfterEach();
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const pgSpool = (url: string) => ({ spool: { backend: 'postgres', url, pool_size: 4, statement_timeout_ms: 2000 } });

function writeConfig(config: Record<string, unknown>): string {
  const dir = tempDir();
  const path = join(dir, 'smtp2sms.yaml');
  // The web page off: its default port is one fixed port, and test files run in parallel.
  writeFileSync(path, YAML.stringify({ web: { port: 0 }, ...config }));
  return path;
}

describe('daemon on the PostgreSQL spool', () => {
  it('mail → SMS at the simulator, receipts settle the rows, queue shows them read-only', async () => {
    const sim = started.simulator(new SmscSimulator({}));
    const smscPort = await sim.listen(0);
    const dir = tempDir();
    const d = started.daemon(await spawnDaemon(testConfig(smscPort, dir, pgSpool(db.url)), dir));
    const replies: SmtpReply[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await sendMail(d.port, {
        to: [`+7999100000${i}@sms.example.test`],
        body: `Subject: pg ${i}\r\n\r\ndisk ${i} full\r\n`,
      });
      replies.push(r.data[0] ?? r.mail);
    }
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250, 250, 250]);
    // The same mail again within the duplicate window: refused by the rules read from the database.
    const again = await sendMail(d.port, {
      to: ['+79991000000@sms.example.test'],
      body: 'Subject: pg 0\r\n\r\ndisk 0 full\r\n',
    });
    expect(again.data[0]?.code).toBe(550);
    await waitFor(() => sim.received.length >= 5, 20_000, 'five SMS at the simulator');
    const queue = async () => {
      const r = await runCliAsync(['queue', '--json', '--config', d.configPath]);
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as {
        counts: Record<string, number>;
        recent: Array<{ state: string; smscIds: string[] }>;
      };
    };
    let report = await queue();
    for (let i = 0; i < 50 && (report.counts.delivered ?? 0) < 5; i++) {
      await new Promise((r) => setTimeout(r, 200));
      report = await queue();
    }
    expect(report.counts).toEqual({ delivered: 5, refused: 1 });
    expect(report.recent.filter((r) => r.state === 'delivered').every((r) => r.smscIds.length === 1)).toBe(true);
    const one = await runCliAsync([
      'queue',
      '--id',
      /Queued as (\S+?):/.exec(replies[0]!.text)![1]!,
      '--config',
      d.configPath,
    ]);
    expect(one.stderr).toBe('');
    expect(one.stdout).toContain('delivered');
    expect(await d.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 60_000);

  it.each([
    ['not a URL', 'hunter2 at db', /spool\.url: not a URL/],
    [
      'a wrong scheme',
      'mysql://sms:hunter2@127.0.0.1/db',
      /spool\.url: scheme mysql is not postgres.*mysql:\/\/sms:\*\*\*@/,
    ],
  ])('%s: exit 2 naming spool.url, the password masked', async (_what, url, message) => {
    const r = await runCliAsync(['serve', '--config', writeConfig(pgSpool(url))]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr + r.stdout).not.toContain('hunter2');
  });

  it('a schema migrated under a running node by a newer one: it takes no mail (451) and says why', async () => {
    const fresh = await createTestDatabase();
    try {
      const sim = started.simulator(new SmscSimulator({}));
      const dir = tempDir();
      const d = started.daemon(await spawnDaemon(testConfig(await sim.listen(0), dir, pgSpool(fresh.url)), dir));
      const mail = { to: ['+79991000009@sms.example.test'], body: 'Subject: s\r\n\r\nbefore\r\n' };
      expect((await sendMail(d.port, mail)).data[0]?.code).toBe(250);
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      await c.query(
        'INSERT INTO smtp2sms_schema_version (version) VALUES ((SELECT MAX(version) + 1 FROM smtp2sms_schema_version))',
      );
      await c.end();
      await waitFor(() => d.logs.some((l) => /newer than this smtp2sms knows/.test(String(l.msg))), 15_000, 'the log');
      let refused: SmtpReply | undefined;
      for (let i = 0; i < 20 && refused?.code !== 451; i++) {
        refused = (await sendMail(d.port, { ...mail, body: `Subject: s\r\n\r\nafter ${i}\r\n` })).mail;
        if (refused.code !== 451) await new Promise((r) => setTimeout(r, 250));
      }
      expect([refused?.code, refused?.text]).toEqual([
        451,
        expect.stringMatching(/^4\.3\.0 .*schema is version \d+, newer/),
      ]);
      await d.kill('SIGKILL');
    } finally {
      await fresh.drop();
    }
  }, 60_000);

  it('wrong credentials: exit 2 at start naming spool.url, the password masked', async () => {
    const url = new URL(db.url);
    url.password = 'hunter2-wrong';
    const r = await runCliAsync([
      'serve',
      '--config',
      writeConfig({ ...pgSpool(url.href), smtp: { port: 0 }, metrics: { port: 0 } }),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^smtp2sms: spool\.url: .*postgres:\*\*\*@127\.0\.0\.1.*password authentication failed.*\(28P01\)/,
    );
    expect(r.stderr + r.stdout).not.toContain('hunter2');
  });

  it('a database that does not answer: one log line per attempt, no SMTP yet, SIGTERM ends the wait', async () => {
    const dir = tempDir();
    const closed = await freePort();
    const d = await spawnDaemon(testConfig(1, dir, pgSpool(`postgres://sms:hunter2@127.0.0.1:${closed}/db`)), dir, {
      waitListening: false,
    });
    await waitFor(
      () => d.logs.filter((l) => l.msg === 'PostgreSQL spool not reachable; SMTP opens once it answers').length >= 2,
      20_000,
      'two attempts',
    );
    expect(d.logs.some((l) => l.msg === 'smtp2sms listening')).toBe(false);
    expect(JSON.stringify(d.logs)).not.toContain('hunter2');
    expect(await d.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 30_000);
});

describe('the database stopped under load', () => {
  const own = ownPostgresForSuite();

  it('451 4.3.0 while it is down, never 250 without a commit; every 250 reaches the simulator; resumes without restart', async () => {
    const sim = started.simulator(new SmscSimulator({}));
    const smscPort = await sim.listen(0);
    const dir = tempDir();
    const metricsPort = await freePort();
    const config = testConfig(smscPort, dir, { ...pgSpool(own.url), metrics: { port: metricsPort } });
    const d = started.daemon(await spawnDaemon(config, dir));
    const health = async () => {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      return { status: r.status, ...((await r.json()) as { spoolWritable: boolean; spoolProblem?: string }) };
    };
    await waitFor(() => sim.binds > 0, 10_000, 'a bind');
    expect(await health()).toMatchObject({ status: 200, spoolWritable: true });
    const accepted = new Set<string>();
    const refused: SmtpReply[] = [];
    let sending = true;
    let n = 0;
    const stream = async () => {
      while (sending) {
        const i = n++;
        const to = `799920${String(i).padStart(5, '0')}`;
        const r = await sendMail(d.port, {
          to: [`+${to}@sms.example.test`],
          body: `Subject: load ${i}\r\n\r\nmail ${i}\r\n`,
        }).catch(() => undefined);
        const reply = r?.data[0] ?? r?.mail;
        if (reply?.code === 250) accepted.add(to);
        else if (reply) refused.push(reply);
      }
    };
    const streams = Array.from({ length: 4 }, stream);
    await waitFor(() => accepted.size >= 10, 20_000, 'mail accepted before the stop');
    await own.stop();
    const atStop = accepted.size;
    await waitFor(() => refused.length >= 3, 20_000, '451s while the database is down');
    expect(await health()).toMatchObject({ status: 503, spoolWritable: false });
    await new Promise((r) => setTimeout(r, 2000));
    await own.start();
    await waitFor(() => accepted.size >= atStop + 10, 30_000, 'mail accepted again after the start').catch((e) => {
      console.log(
        d.logs
          .slice(-25)
          .map((l) => `${String(l.level)} ${String(l.msg)} ${String(l.err ?? l.reason ?? '')}`)
          .join('\n'),
        accepted.size,
        atStop,
        d.child.exitCode,
      );
      throw e;
    });
    sending = false;
    await Promise.all(streams);

    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((r) => `${r.code} ${r.text.slice(0, 5)}`))).toEqual(new Set(['451 4.3.0']));
    await waitFor(
      () => new Set(sim.received.map((s) => s.to.replace(/^\+/, ''))).size >= accepted.size,
      30_000,
      'every accepted mail at the simulator',
    ).catch(async (e) => {
      const got = new Set(sim.received.map((s) => s.to.replace(/^\+/, '')));
      const missing = [...accepted].filter((t) => !got.has(t));
      const c = new pg.Client({ connectionString: own.url });
      await c.connect();
      console.log(
        missing,
        (
          await c.query(
            'SELECT id, recipient, state, reason, attempts, owner, smsc_ids FROM sms WHERE recipient = ANY($1)',
            [missing],
          )
        ).rows,
      );
      console.log(
        d.logs
          .filter((l) => Number(l.level) >= 40)
          .map((l) => `${String(l.level)} ${String(l.msg)} ${String(l.err ?? l.reason ?? '')}`)
          .join('\n'),
      );
      await c.end();
      throw e;
    });
    const received = new Set(sim.received.map((s) => s.to.replace(/^\+/, '')));
    expect([...accepted].filter((to) => !received.has(to))).toEqual([]);
    // Healthy again once no write has failed for 10 s (the check then commits a row of its own).
    let healthy = await health();
    for (let i = 0; i < 60 && healthy.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      healthy = await health();
    }
    expect(healthy).toMatchObject({ status: 200, spoolWritable: true });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^smtp2sms_queue_messages\{state="delivered"\} [1-9]/m);
    expect(await d.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 120_000);
});
