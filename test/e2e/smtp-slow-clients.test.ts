/**
 * Clients that hold a connection without finishing anything (slowloris), too many clients, and clients that hang
 * up mid-message: each gets a clear reply and is closed, and the daemon's log rates it for what it is.
 */
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { RawSmtp } from '../helpers/smtp-client.js';

const started = stopAfterEach();

async function daemon(smtp: Record<string, unknown>) {
  const sim = started.simulator(new SmscSimulator());
  const dir = tempDir();
  return started.daemon(await spawnDaemon(testConfig(await sim.listen(), dir, { smtp }), dir));
}

/** Writes `text` one byte every `everyMs` until told to stop or the server closes; resolves with the bytes sent. */
function trickle(client: RawSmtp, text: string, everyMs: number): { stop(): void; sent: Promise<number> } {
  let stopped = false;
  const sent = (async () => {
    let i = 0;
    for (; i < text.length && !stopped; i++) {
      client.write(text[i] as string);
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return i;
  })();
  return { stop: () => (stopped = true), sent };
}

const TOO_SLOW = 'client too slow; closing the connection';
const HUNG_UP = 'connection closed during DATA; nothing queued';
const errorsIn = (logs: Array<Record<string, unknown>>) => logs.filter((l) => Number(l.level) >= 50);

describe('slow clients (slowloris)', () => {
  it('a command line trickled a byte at a time past smtp.command_timeout_s: 421 4.4.2, then closed', async () => {
    // Each byte keeps the socket busy, so the idle timeout (socket_timeout_s) alone would never fire.
    const d = await daemon({ command_timeout_s: 1, socket_timeout_s: 30 });
    const { client } = await RawSmtp.connect(d.port);
    expect((await client.cmd('EHLO slow.example')).code).toBe(250);
    const t = trickle(client, `MAIL FROM:<${'a'.repeat(200)}@example.org>\r\n`, 100);
    const reply = await client.read();
    t.stop();
    expect(await t.sent).toBeLessThan(100);
    expect(reply.code).toBe(421);
    expect(reply.text).toMatch(/^4\.4\.2 Command line not completed within 1 s/);
    expect((await client.read()).code).toBe(0); // closed by the server
    await waitFor(() => d.logs.some((l) => l.msg === TOO_SLOW), 5000, 'the log line');
    expect(errorsIn(d.logs)).toEqual([]);
  }, 30_000);

  it('a message trickled a byte at a time past smtp.data_timeout_s: 421 4.4.2, closed, nothing queued', async () => {
    const d = await daemon({ data_timeout_s: 1.5, command_timeout_s: 1, socket_timeout_s: 30 });
    const { client } = await RawSmtp.connect(d.port);
    await client.cmd('EHLO slow.example');
    await client.cmd('MAIL FROM:<a@example.org>');
    expect((await client.cmd('RCPT TO:<+79991234567@sms.example.test>')).code).toBe(250);
    expect((await client.cmd('DATA')).code).toBe(354);
    // Whole lines, each well within the command timeout: only the DATA limit can stop this client.
    const t = trickle(client, `Subject: slow\r\n\r\n${'x'.repeat(300)}\r\n.\r\n`, 50);
    const reply = await client.read();
    t.stop();
    expect(await t.sent).toBeLessThan(300);
    expect(reply.code).toBe(421);
    expect(reply.text).toMatch(/^4\.4\.2 Message not completed within 1\.5 s/);
    expect((await client.read()).code).toBe(0);
    await waitFor(() => d.logs.some((l) => l.msg === TOO_SLOW), 5000, 'the log line');
    expect(d.logs.some((l) => String(l.msg).startsWith('queued'))).toBe(false);
    expect(errorsIn(d.logs)).toEqual([]);
  }, 30_000);

  it('an honest client within the limits is served', async () => {
    const d = await daemon({ command_timeout_s: 1, data_timeout_s: 1 });
    const { client } = await RawSmtp.connect(d.port);
    await client.cmd('EHLO quick.example');
    // Idle between commands for longer than the command limit: idleness is socket_timeout_s's business.
    await new Promise((r) => setTimeout(r, 1500));
    await client.cmd('MAIL FROM:<a@example.org>');
    await client.cmd('RCPT TO:<+79991234567@sms.example.test>');
    const { end } = await client.data('Subject: quick\r\n\r\nhello\r\n');
    expect(end[0]!.code).toBe(250);
    client.close();
  }, 30_000);
});

describe('too many clients, and clients that hang up', () => {
  it('past smtp.max_clients: 421 4.4.2 Too many connected clients', async () => {
    const d = await daemon({ max_clients: 1 });
    const first = await RawSmtp.connect(d.port);
    expect(first.greeting.code).toBe(220);
    const second = await RawSmtp.connect(d.port);
    expect(second.greeting.code).toBe(421);
    expect(second.greeting.text).toMatch(/^4\.4\.2 .*Too many connected clients/);
    first.client.close();
    second.client.close();
  }, 30_000);

  it.each([
    ['FIN', (c: RawSmtp) => c.close()],
    ['RST', (c: RawSmtp) => c.reset()],
  ])(
    'a client that hangs up (%s) during DATA is logged at info level, not as an error',
    async (_how, hangUp) => {
      const d = await daemon({});
      const { client } = await RawSmtp.connect(d.port);
      await client.cmd('EHLO gone.example');
      await client.cmd('MAIL FROM:<a@example.org>');
      await client.cmd('RCPT TO:<+79991234567@sms.example.test>');
      expect((await client.cmd('DATA')).code).toBe(354);
      client.write('Subject: half\r\n\r\nhalf a mess');
      await new Promise((r) => setTimeout(r, 200));
      hangUp(client);
      await waitFor(() => d.logs.some((l) => l.msg === HUNG_UP), 5000, 'the log line');
      const line = d.logs.find((l) => l.msg === HUNG_UP)!;
      expect(line.level).toBe(30);
      // Anything else logged about it would come within a moment; give it one.
      await new Promise((r) => setTimeout(r, 300));
      expect(errorsIn(d.logs)).toEqual([]);
    },
    30_000,
  );
});
