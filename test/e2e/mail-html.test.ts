/**
 * HTML mail and control characters through a daemon child process to the simulator: a hostile HTML body does not
 * hold up the mail after it (it is converted in its own thread, in linear time), and a subject's NUL never
 * reaches the phone.
 */
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { RawSmtp, sendMail, type SmtpReply } from '../helpers/smtp-client.js';

const started = stopAfterEach();

async function start() {
  const sim = started.simulator(new SmscSimulator());
  const port = await sim.listen();
  const dir = tempDir();
  const daemon = started.daemon(await spawnDaemon(testConfig(port, dir), dir));
  return { sim, daemon };
}

/**
 * The shape (400,000 `<b>`: 55 s to convert, all of it on the work thread) and 49,000 spans, the costliest
 * elements html-to-text has (still converted, in ~0.5 s: in its own thread).
 */
function hostileMail(): Buffer {
  const html = `<html><body>${'<b>'.repeat(400_000)}${'<span>x</span> '.repeat(49_000)}</body></html>`;
  return Buffer.from(
    `Subject: hostile\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n`,
  );
}

describe('HTML mail through the daemon', () => {
  it('a normal alert sent after a hostile HTML mail gets 250 and reaches the SMSC before the hostile one is answered', async () => {
    const { sim, daemon } = await start();
    const events: string[] = [];
    const { client } = await RawSmtp.connect(daemon.port);
    await client.cmd('EHLO hostile.example');
    await client.cmd('MAIL FROM:<fuzz@example.org>');
    await client.cmd('RCPT TO:<+79991230001@sms.example.test>');
    // data() resolves once the whole mail is written and answered: the answer is recorded when it comes.
    const hostile = client.data(hostileMail()).then(({ end }) => {
      events.push('hostile answered');
      return end[0] as SmtpReply;
    });
    // The hostile mail is on the wire (loopback: a few ms) before the alert follows on another connection.
    await new Promise((r) => setTimeout(r, 50));
    const normal = await sendMail(daemon.port, {
      to: ['+79991230002@sms.example.test'],
      body: 'Subject: disk full\r\n\r\ndb1 /var 97%\r\n',
    });
    events.push(`normal ${normal.data[0]?.code}`);
    await waitFor(() => sim.received.some((s) => s.to.endsWith('79991230002')), 20_000, 'the alert at the SMSC');
    events.push('normal at the SMSC');
    const reply = await hostile;
    client.close();

    expect(events).toEqual(['normal 250', 'normal at the SMSC', 'hostile answered']);
    expect(sim.received.find((s) => s.to.endsWith('79991230002'))?.text).toBe('disk full\ndb1 /var 97%');
    // The hostile mail itself gets a clear answer: converted (and cut or refused for its length), never a hang.
    expect(`${reply.code} ${reply.text}`).toMatch(/^(250 2\.0\.0|550 5\.\d\.\d) \S/);
  }, 120_000);

  it('an HTML table arrives readable, and a NUL in the subject never reaches the phone', async () => {
    const { sim, daemon } = await start();
    const html =
      '<html><head><style>td{padding:4px}</style></head><body><table><tr><th>Host</th><th>Status</th></tr>' +
      '<tr><td>web3</td><td>DOWN</td></tr></table></body></html>';
    const r = await sendMail(daemon.port, {
      to: ['+79991230003@sms.example.test'],
      body: `Subject: =?UTF-8?B?${Buffer.from('PROBLEM\0 web3').toString('base64')}?=\r\nContent-Type: text/html\r\n\r\n${html}\r\n`,
    });
    expect(r.data[0]?.code).toBe(250);
    await waitFor(() => sim.received.length > 0, 20_000, 'the SMS at the SMSC');
    expect(sim.received[0]).toMatchObject({ text: 'PROBLEM web3\nHost | Status\nweb3 | DOWN', encoding: 'GSM' });
  }, 60_000);
});
