/**
 * Cancel while the SMSC is down: the moment a sender most needs it (the SMSC is unreachable and the SMS waits).
 * The simulator is not listening when the mail comes in; the cancel from the page must succeed, and once the SMSC
 * comes up the cancelled SMS never reaches it, while a message already submitted cannot be cancelled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { freePort, waitFor } from '../helpers/daemon-process.js';
import { sendMail } from '../helpers/smtp-client.js';
import { api, basic, spawnWebDaemon, USERS, type WebDaemon } from '../helpers/web.js';

const alice = basic('alice', USERS.alice);

async function mail(d: WebDaemon, to: string, text: string): Promise<string> {
  const raw = `Subject: ${text}\r\n\r\n${text}\r\n`;
  const r = await sendMail(d.port, { to: [`${to}@sms.example.test`], body: raw, auth: ['alice', USERS.alice] });
  const id = /Queued as (\S+?):/.exec(r.data[0]?.text ?? '')?.[1];
  if (!id) throw new Error(`not queued: ${JSON.stringify(r)}`);
  return id;
}

/** A signed-in session's cookie, as the browser holds it. */
async function signIn(d: WebDaemon): Promise<string> {
  const res = await fetch(`${d.web}/signin`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username: 'alice', password: USERS.alice }),
  });
  expect(res.status).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

/**
 * Press a cancel button: post the page's CSRF token and the row id, as the form does. For a message the page offers
 * no button for (already submitted), post what a page opened a moment earlier would have.
 */
async function cancel(d: WebDaemon, cookie: string, queueId: string): Promise<string> {
  const page = await (await fetch(`${d.web}/messages/${queueId}`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
  const res = await fetch(`${d.web}/messages/${queueId}/cancel`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie },
    body: new URLSearchParams({ _csrf: csrf, id: String((await row(d, queueId)).id) }),
  });
  expect(res.status).toBe(303);
  return new URL(res.headers.get('location') ?? '', d.web).searchParams.get('done') ?? '';
}

const row = async (d: WebDaemon, queueId: string) => {
  const r = await api(d, `/api/messages/${queueId}`, alice);
  return (r.body.recipients as Array<{ id: number; state: string; parts: Array<{ smscId: string | null }> }>)[0]!;
};

describe('cancel while the SMSC is down', () => {
  let d: WebDaemon;
  let sim: SmscSimulator;
  let smscPort: number;
  let cookie: string;
  /** Submitted in the first case (no receipts: it stays 'submitted'). */
  let sent: string;

  beforeAll(async () => {
    smscPort = await freePort();
    sim = new SmscSimulator({ receiptStat: () => 'none' });
    d = await spawnWebDaemon(smscPort);
  }, 60_000);
  afterAll(async () => {
    await d?.kill('SIGTERM');
    await sim?.close();
  });

  /** Poll the API until the row reaches this state (receipts are off: 'submitted' stays). */
  const until = async (queueId: string, state: string) => {
    for (let i = 0; i < 100 && (await row(d, queueId)).state !== state; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await row(d, queueId)).state).toBe(state);
  };

  it('down from the start: a mail waits queued, is cancelled on the page, never reaches the SMSC once up', async () => {
    cookie = await signIn(d);
    const waiting = await mail(d, '+79991110001', 'waits for the SMSC');
    // The binds have tried (and failed) meanwhile: the SMSC is down, not merely not yet asked.
    await waitFor(() => d.logs.filter((l) => l.msg === 'SMPP connection error').length >= 2, 20_000, 'connect tries');
    expect((await row(d, waiting)).parts).toEqual([{ smscId: null, receipt: null, receiptAt: null, err: null }]);
    expect(await cancel(d, cookie, waiting)).toBe('cancelled');
    expect((await row(d, waiting)).state).toBe('cancelled');

    await sim.listen(smscPort);
    sent = await mail(d, '+79991110002', 'sent once the SMSC is up');
    await until(sent, 'submitted');
    expect(sim.received.map((r) => r.to)).toEqual(['79991110002']);
    expect((await row(d, waiting)).state).toBe('cancelled');
  }, 60_000);

  it('a mail already submitted cannot be cancelled: the page says too late and the row is untouched', async () => {
    expect(await cancel(d, cookie, sent)).toBe('too-late');
    expect((await row(d, sent)).state).toBe('submitted');
  });

  it('the SMSC goes away while the relay waits for mail: the next mail is cancellable, never sent', async () => {
    const lost = d.logs.length;
    await sim.close();
    await waitFor(() => d.logs.slice(lost).some((l) => l.msg === 'connection lost; reconnecting'), 20_000, 'drop');
    // At once: the relay's claim was waiting for fresh mail when the bind went (it hands mail over 'sending').
    const waiting = await mail(d, '+79991110003', 'arrives just after the SMSC went away');
    await until(waiting, 'queued');
    expect(await cancel(d, cookie, waiting)).toBe('cancelled');

    sim = new SmscSimulator({ receiptStat: () => 'none' });
    await sim.listen(smscPort);
    const next = await mail(d, '+79991110004', 'after the SMSC is back');
    await until(next, 'submitted');
    expect(sim.received.map((r) => r.to)).toEqual(['79991110004']);
    expect((await row(d, waiting)).state).toBe('cancelled');
  }, 60_000);
});
