/**
 * `smtp2sms queue` beside a running daemon: it reads the spool the daemon writes, and must never make one of the
 * daemon's writes fail (a 451 to a client, a send outcome lost and the SMS sent again after a restart).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { SqliteSpool } from '../../src/spool/sqlite/store.js';
import type { NewSms } from '../../src/spool/types.js';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { readSpool, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { sendMail, type SmtpReply } from '../helpers/smtp-client.js';
import { newSms } from '../helpers/rows.js';

const started = stopAfterEach();

describe('smtp2sms queue beside a running daemon', () => {
  it('never makes the daemon’s writes fail: every mail gets 250, no row is left sending', async () => {
    const sim = started.simulator(new SmscSimulator({}));
    const smscPort = await sim.listen(0);
    const dir = tempDir();
    const d = started.daemon(await spawnDaemon(testConfig(smscPort, dir), dir));

    // A steady stream of mails over eight connections at a time, until the queue runs are over.
    const replies: SmtpReply[] = [];
    let sending = true;
    let n = 0;
    const stream = async () => {
      while (sending) {
        const i = n++;
        const to = [`+7999${String(2000000 + i)}@sms.example.test`];
        const r = await sendMail(d.port, { to, body: `Subject: q${i}\r\n\r\nmail ${i}\r\n` });
        replies.push(r.data[0] ?? r.mail);
      }
    };
    const streams = Array.from({ length: 8 }, stream);
    await waitFor(() => replies.length > 0, 20_000, 'a first reply');
    const queueId = /Queued as (\S+?):/.exec(replies[0]!.text)?.[1];
    expect(queueId).toBeDefined();

    const kinds = [
      ['queue'],
      ['queue', '--json'],
      ['queue', '--id', queueId!],
      ['queue', '--state', 'submitted', '--since', '1h'],
    ];
    const runs = kinds.map((args) => [...args, '--config', d.configPath]);
    for (let i = 0; i < 20; i++) {
      const r = await runCliAsync(runs[i % runs.length]!);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
    sending = false;
    await Promise.all(streams);

    expect(replies.length).toBeGreaterThan(20);
    expect(replies.filter((r) => r.code !== 250).map((r) => `${r.code} ${r.text}`)).toEqual([]);
    await waitFor(() => sim.received.length >= replies.length, 20_000, 'every SMS at the simulator');
    expect(await d.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(d.logs.filter((l) => JSON.stringify(l).includes('database is locked'))).toEqual([]);
    expect(readSpool(d.spoolPath).filter((r) => r.state === 'sending')).toEqual([]);
  }, 120_000);
});

const row = (recipient: string): NewSms => newSms(recipient);

describe('smtp2sms queue options', () => {
  /** A spool with one row accepted 3 h ago (then claimed: 'sending') and two just now ('queued'). */
  const spoolWithRows = async () => {
    const dir = tempDir();
    const spool = new SqliteSpool(join(dir, 'spool.sqlite'));
    await spool.accept([row('79990000001')], Date.now() - 3 * 3_600_000);
    await spool.claim(1, Date.now());
    await spool.accept([row('79990000002')], Date.now());
    await spool.accept([row('79990000003')], Date.now());
    await spool.close();
    const config = join(dir, 'c.yaml');
    writeFileSync(config, YAML.stringify({ spool: { path: join(dir, 'spool.sqlite') } }));
    return config;
  };
  const listed = (args: string[]) => {
    const r = runCli(['queue', '--json', ...args]);
    expect(r.stderr).toBe('');
    return (JSON.parse(r.stdout) as { recent: { recipient: string }[] }).recent.map((m) => m.recipient);
  };

  it('--state, --since and --limit filter the list (newest first), in text and --json', async () => {
    const config = await spoolWithRows();
    expect(listed(['-c', config])).toEqual(['+79990000003', '+79990000002', '+79990000001']);
    expect(listed(['-c', config, '--state', 'sending'])).toEqual(['+79990000001']);
    expect(listed(['-c', config, '--since', '2h'])).toEqual(['+79990000003', '+79990000002']);
    expect(listed(['-c', config, '--since', '4h', '--limit', '1'])).toEqual(['+79990000003']);
    expect(listed(['-c', config, '--since', '30s', '--state', 'sending'])).toEqual([]);
    const text = runCli(['queue', '-c', config, '--state', 'queued', '--since', '15m']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('state counts: queued 2, sending 1');
    expect(text.stdout).toContain('+79990000002');
    expect(text.stdout).not.toContain('+79990000001');
    const none = runCli(['queue', '-c', config, '--since', '7d', '--state', 'failed']);
    expect(none.stdout).toContain('no message matches');
  });

  it.each([
    [['--since', '5x'], `"5x" is not a duration`],
    [['--since', '0s'], `"0s" is not a duration`],
    [['--since', '2 hours'], `"2 hours" is not a duration`],
    [['--limit', 'ten'], `"ten" is not a count`],
    [['--limit', '0'], `"0" is not a count`],
    [['--state', 'sent'], 'Allowed choices are queued, sending, submitted'],
  ])('%j: exit 2 with a clear error', async (args, error) => {
    const r = runCli(['queue', '-c', await spoolWithRows(), ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(error);
    expect(r.stdout).toBe('');
  });

  it('on a missing spool: exit 2 naming the absolute path, nothing created', () => {
    const dir = tempDir();
    const config = join(dir, 'c.yaml');
    writeFileSync(config, YAML.stringify({ spool: { path: 'nowhere/spool.sqlite' } }));
    const r = runCli(['queue', '--config', config], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no spool at ${join(dir, 'nowhere/spool.sqlite')}`);
    expect(readdirSync(dir)).toEqual(['c.yaml']);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });
});
