/**
 * The web page in a real browser (headless chromium via playwright-core) against the daemon as a child process:
 * sign in, the messages a mail produced, a filter, one message with its receipt, cancelling a queued SMS (the SMSC
 * never gets it), sign-out; hostile text shown as text with nothing run; one user never sees another's mail.
 * Screenshots of the list and of a message page go to test/screenshots/ (shown in the README).
 */
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { launchChromium } from '../helpers/chromium.js';
import { waitFor } from '../helpers/daemon-process.js';
import { sendMail } from '../helpers/smtp-client.js';
import { api, basic, spawnWebDaemon, USERS, type WebDaemon } from '../helpers/web.js';

/** The retry delay after a temporary refusal: the time the browser has to cancel the queued SMS. */
const RETRY_S = 10;
const SMPP_TEST = { reconnect_min_s: 0.1, reconnect_max_s: 0.5, enquire_link_s: 5, response_timeout_s: 2 };
const SHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));
const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> "quoted" & <b>bold</b>`;

async function mail(d: WebDaemon, to: string, subject: string, body: string, user: 'alice' | 'bob'): Promise<string> {
  const raw = `Subject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`;
  const r = await sendMail(d.port, { to: [`${to}@sms.example.test`], body: raw, auth: [user, USERS[user]] });
  const id = /Queued as (\S+?):/.exec(r.data[0]?.text ?? '')?.[1];
  if (!id) throw new Error(`not queued: ${JSON.stringify(r)}`);
  return id;
}

async function signIn(page: Page, d: WebDaemon, user: 'alice' | 'bob'): Promise<void> {
  await page.goto(`${d.web}/`);
  expect(new URL(page.url()).pathname).toBe('/signin');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', USERS[user]);
  await Promise.all([page.waitForURL(`${d.web}/`), page.click('button:has-text("Sign in")')]);
}

describe('web page in a browser', () => {
  let d: WebDaemon;
  let sim: SmscSimulator;
  let alice: BrowserContext;
  let bob: BrowserContext;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    sim = new SmscSimulator({
      receiptStat: (to) => (to.startsWith('7999666') ? 'UNDELIV' : 'DELIVRD'),
      // ESME_RSYSERR: a temporary refusal; the relay puts the SMS back in the queue for RETRY_S.
      submitStatus: (to) => (to.startsWith('7999555') ? 0x08 : undefined),
    });
    const smscPort = await sim.listen(0);
    d = await spawnWebDaemon(smscPort, { smpp: { ...SMPP_TEST, retry_base_s: RETRY_S, retry_max_s: RETRY_S } });
    ids.disk = await mail(d, '+79991110001', 'disk full on db1', 'Free 2%\n~~~\nticket OPS-42, on call: Ann', 'alice');
    ids.load = await mail(d, '+79996660002', 'Нагрузка 95% на app2', 'Проверьте очередь', 'alice');
    ids.hostile = await mail(d, '+79991110003', 'hostile', HOSTILE, 'alice');
    ids.bob = await mail(d, '+79991110004', 'bob only', 'secret of bob', 'bob');
    await waitFor(() => sim.received.length >= 4, 20_000, 'four SMS at the simulator');
    const settled = async () => {
      const r = await api(d, '/api/messages', basic('alice', USERS.alice));
      return (r.body.messages as Array<{ state: string }>).every(
        (m) => m.state !== 'submitted' && m.state !== 'sending',
      );
    };
    // Not expect.poll: that is for inside a test.
    for (const until = Date.now() + 20_000; !(await settled()); await new Promise((r) => setTimeout(r, 200))) {
      if (Date.now() > until) throw new Error('no receipts for alice');
    }
    [alice, bob] = [await launchChromium(), await launchChromium()];
  }, 180_000);
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await d?.kill('SIGTERM');
    await sim?.close();
  });

  it('sign in, the list, hostile text as text, a filter, one message with its receipt', async () => {
    const page = await alice.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dlg) => {
      dialogs.push(dlg.message());
      void dlg.dismiss();
    });
    await signIn(page, d, 'alice');
    const rows = page.locator('table.messages tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const listText = await page.locator('table.messages').innerText();
    expect(listText).toContain('disk full on db1');
    expect(listText).toContain('ticket OPS-42');
    expect(listText).not.toContain('secret of bob');
    // The hostile text is on the page as text, and nothing in it ran or became an element.
    expect(listText).toContain('<script>window.__pwned = 1</script>');
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('main img, main b, main script').count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}web-list.png`, fullPage: true });

    await page.fill('input[name=q]', 'нагрузка');
    await Promise.all([page.waitForURL(/q=/), page.click('button:has-text("Filter")')]);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain('Нагрузка 95%');
    await page.selectOption('select[name=state]', 'delivered');
    await page.fill('input[name=q]', '');
    await Promise.all([page.waitForURL(/state=delivered/), page.click('button:has-text("Filter")')]);
    await expect.poll(() => rows.count()).toBe(2);

    await page.goto(`${d.web}/`);
    await Promise.all([page.waitForURL(/\/messages\//), page.click(`a[href="/messages/${ids.load}"] >> nth=1`)]);
    const body = await page.locator('main').innerText();
    expect(body).toContain('Нагрузка 95% на app2');
    expect(body).toMatch(/UNDELIV/);
    expect(body).toContain('per-number limit');
    await page.goto(`${d.web}/messages/${ids.disk}`);
    const disk = await page.locator('main').innerText();
    expect(disk).toContain('DELIVRD');
    expect(disk).toContain('ticket OPS-42, on call: Ann');
    expect(disk).toMatch(/part 1 of 1 submitted \(SMSC id \S+\)/);
    // The receipt with the time it came, in the parts table and in the timeline, then the final state.
    const timeline = await page.locator('ol.timeline').innerText();
    const at = /(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) receipt for part 1 of 1: delivered to the phone/.exec(timeline)?.[1];
    expect(at, timeline).toBeDefined();
    expect(await page.locator('time.receipt-at').innerText()).toBe(at);
    expect(timeline).toMatch(/final: delivered/);
    await page.screenshot({ path: `${SHOTS}web-message.png`, fullPage: true });
    await page.goto(`${d.web}/messages/${ids.hostile}`);
    expect(await page.locator('pre.sms-text').innerText()).toContain(HOSTILE);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(dialogs).toEqual([]);
  });

  it('cancel a queued SMS after confirming: it becomes cancelled and the SMSC never gets it', async () => {
    // The SMSC refuses it for now (temporary): back in the queue for RETRY_S.
    const id = await mail(d, '+79995550001', 'to be cancelled', 'never send this', 'alice');
    const row = async () => {
      const r = await api(d, `/api/messages/${id}`, basic('alice', USERS.alice));
      return (r.body.recipients as Array<{ state: string; attempts: number; updatedAt: string }>)[0]!;
    };
    await expect
      .poll(
        async () => {
          const r = await row();
          return `${r.state} ${r.attempts}`;
        },
        { timeout: 20_000 },
      )
      .toBe('queued 1');
    const dueAt = Date.parse((await row()).updatedAt) + RETRY_S * 1000;
    const page = await alice.newPage();
    const asked: string[] = [];
    let accept = false;
    page.on('dialog', (dlg) => {
      asked.push(dlg.message());
      void (accept ? dlg.accept() : dlg.dismiss());
    });
    await page.goto(`${d.web}/messages/${id}`);
    // First the confirmation is declined: nothing happens.
    await page.click('button:has-text("Cancel this SMS")');
    await expect.poll(() => asked.length).toBe(1);
    expect(await page.locator('.recipient .state').first().innerText()).toBe('queued');
    accept = true;
    await Promise.all([page.waitForURL(/done=cancelled/), page.click('button:has-text("Cancel this SMS")')]);
    expect(asked[1]).toContain('It will never be sent');
    expect(await page.locator('.notice').innerText()).toContain('never be sent');
    expect(await page.locator('.recipient .state').first().innerText()).toBe('cancelled');
    expect(await page.locator('button:has-text("Cancel this SMS")').count()).toBe(0);

    // The SMSC would take it now; past its retry time a later mail goes out, the cancelled SMS never does.
    sim.behaviour.submitStatus = undefined;
    await expect.poll(() => Date.now() > dueAt + 1000, { timeout: (RETRY_S + 5) * 1000, interval: 250 }).toBe(true);
    await mail(d, '+79995550002', 'after the cancel', 'this one goes', 'alice');
    await expect.poll(() => sim.received.some((r) => r.to === '79995550002'), { timeout: 20_000 }).toBe(true);
    expect(sim.received.filter((r) => r.to === '79995550001')).toEqual([]);
    expect((await row()).state).toBe('cancelled');
  }, 60_000);

  it("user B sees only their own messages and cannot open A's by its address", async () => {
    const page = await bob.newPage();
    await signIn(page, d, 'bob');
    const text = await page.locator('main').innerText();
    expect(text).toContain('secret of bob');
    expect(text).not.toContain('disk full');
    const res = await page.goto(`${d.web}/messages/${ids.disk}`);
    expect(res?.status()).toBe(404);
    expect(await page.locator('main').innerText()).not.toContain('disk full');
    const filtered = await page.goto(`${d.web}/?number=%2B79991110001`);
    expect(filtered?.status()).toBe(200);
    expect(await page.locator('main').innerText()).toContain('No messages match');
  });

  it('sign out: back to the sign-in form, and the list needs signing in again', async () => {
    const page = await alice.newPage();
    await page.goto(`${d.web}/`);
    await Promise.all([page.waitForURL(/\/signin$/), page.click('button:has-text("Sign out")')]);
    await page.goto(`${d.web}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(await page.locator('h1').innerText()).toBe('Sign in');
  });
});
