/**
 * The JSON API against the daemon as a child process: every filter, keyset paging, and the access rules (a user
 * sees only their own mail by list, filter and id; an admin sees all, mail without AUTH included; Basic and
 * Bearer; wrong credentials slowed and refused). Also the web page's own refusals over plain HTTP (no session, no
 * CSRF token, another user's message).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemon-process.js';
import { sendMail } from '../helpers/smtp-client.js';
import { api, basic, ROOT_TOKEN, spawnWebDaemon, USERS, type WebDaemon } from '../helpers/web.js';

type Msg = Record<string, unknown> & { queueId: string; recipient: string; text: string; state: string };
const alice = basic('alice', USERS.alice);
const bob = basic('bob', USERS.bob);
const root = `Bearer root:${ROOT_TOKEN}`;

async function mail(d: WebDaemon, to: string, body: string, auth?: [string, string]): Promise<string> {
  const r = await sendMail(d.port, { to: [`${to}@sms.example.test`], body, ...(auth ? { auth } : {}) });
  const id = /Queued as (\S+?):/.exec(r.data[0]?.text ?? '')?.[1];
  if (!id) throw new Error(`not queued: ${JSON.stringify(r)}`);
  return id;
}
const list = async (d: WebDaemon, query: string, auth: string) => {
  const r = await api(d, `/api/messages${query}`, auth);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { messages: Msg[]; next: string | null };
};

describe('web API', () => {
  let d: WebDaemon;
  let sim: SmscSimulator;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    sim = new SmscSimulator({ receiptStat: (to) => (to.startsWith('7999666') ? 'UNDELIV' : 'DELIVRD') });
    d = await spawnWebDaemon(await sim.listen(0));
    ids.a1 = await mail(d, '+79991110001', 'Subject: disk full\r\n\r\non db1\r\n~~~\r\nticket 42\r\n', [
      'alice',
      USERS.alice,
    ]);
    ids.a2 = await mail(
      d,
      '+79996660002',
      'Subject: Ошибка\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nДиск\r\n',
      ['alice', USERS.alice],
    );
    for (let i = 0; i < 5; i++)
      ids[`p${i}`] = await mail(d, `+7999222000${i}`, `Subject: page ${i}\r\n\r\nx\r\n`, ['alice', USERS.alice]);
    ids.b1 = await mail(d, '+79991110001', 'Subject: bob secret\r\n\r\nfor bob only\r\n', ['bob', USERS.bob]);
    ids.anon = await mail(d, '+79993330003', 'Subject: no auth\r\n\r\nanonymous\r\n');
    await waitFor(() => sim.received.length >= 9, 20_000, 'every SMS at the simulator');
    // Receipts settle the rows (delivered; UNDELIV err:251 for 7999666…).
    await waitFor(() => d.logs.filter((l) => String(l.msg).includes('receipt')).length >= 9, 20_000, 'receipts');
  }, 60_000);
  // One daemon for the file: the cases read what the mails above left.
  afterAll(async () => {
    await d?.kill('SIGTERM');
    await sim?.close();
  });

  it('a user lists only their own mail, newest first, with parts, receipts and the reason in words', async () => {
    const mine = await list(d, '', alice);
    expect(mine.messages.map((m) => m.queueId)).toEqual([ids.p4, ids.p3, ids.p2, ids.p1, ids.p0, ids.a2, ids.a1]);
    expect(mine.messages.every((m) => m.smtpUser === 'alice')).toBe(true);
    const failed = mine.messages.find((m) => m.queueId === ids.a2)!;
    expect(failed.state).toBe('undeliverable');
    expect(String(failed.reasonText)).toContain('per-number limit');
    const first = mine.messages.find((m) => m.queueId === ids.a1)!;
    expect([first.text, first.comment, first.state]).toEqual(['disk full\non db1', 'ticket 42', 'delivered']);
    expect(first.parts).toEqual([
      { smscId: expect.any(String), receipt: 'DELIVRD', receiptAt: expect.any(String), err: '000' },
    ]);
    const receiptAt = Date.parse((first.parts as Array<{ receiptAt: string }>)[0]!.receiptAt);
    expect(receiptAt).toBeGreaterThanOrEqual(Date.parse(first.acceptedAt as string));
    expect(first).not.toHaveProperty('clientIp');
    expect((await list(d, '', bob)).messages.map((m) => m.queueId)).toEqual([ids.b1]);
  });

  it('the admin sees everyone, mail without AUTH included (Bearer token)', async () => {
    const all = await list(d, '?limit=500', root);
    expect(all.messages.map((m) => m.queueId)).toContain(ids.anon);
    expect(all.messages.map((m) => m.queueId)).toContain(ids.b1);
    expect(all.messages.find((m) => m.queueId === ids.anon)!.smtpUser).toBeNull();
    expect(all.messages[0]).toHaveProperty('clientIp');
    expect((await api(d, `/api/messages/${ids.b1}`, root)).status).toBe(200);
  });

  it('filters: state, number, date range, text; each combined with the user scope', async () => {
    expect((await list(d, '?state=undeliverable', alice)).messages.map((m) => m.queueId)).toEqual([ids.a2]);
    expect((await list(d, '?state=undeliverable', bob)).messages).toEqual([]);
    // The same number as bob's message: alice gets only hers.
    expect((await list(d, '?number=%2B7%20999%20111-00-01', alice)).messages.map((m) => m.queueId)).toEqual([ids.a1]);
    expect((await list(d, '?q=TICKET', alice)).messages.map((m) => m.queueId)).toEqual([ids.a1]);
    expect((await list(d, '?q=%D0%B4%D0%B8%D1%81%D0%BA', alice)).messages.map((m) => m.queueId)).toEqual([ids.a2]);
    expect((await list(d, '?q=secret', alice)).messages).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await list(d, `?since=${today}&until=${today}`, alice)).messages).toHaveLength(7);
    expect((await list(d, '?until=2000-01-01', alice)).messages).toEqual([]);
    const t = Date.parse((await list(d, '', alice)).messages[1]!.acceptedAt as string);
    expect(
      (await list(d, `?since=${t + 1}`, alice)).messages.every((m) => Date.parse(m.acceptedAt as string) > t),
    ).toBe(true);
  });

  it('keyset paging: `next` until null, each message once', async () => {
    const seen: string[] = [];
    let after = '';
    for (let i = 0; i < 10; i++) {
      const page = await list(d, `?limit=3${after ? `&after=${after}` : ''}`, alice);
      seen.push(...page.messages.map((m) => m.queueId));
      if (page.next === null) break;
      after = page.next;
    }
    expect(seen).toEqual((await list(d, '', alice)).messages.map((m) => m.queueId));
    expect(seen).toHaveLength(7);
  });

  it('one form everywhere: the API, the page and `smtp2sms queue` write +E.164 and GSM / UCS-2', async () => {
    const byId = async (id: string) => ((await api(d, `/api/messages/${id}`, alice)).body.recipients as Msg[])[0]!;
    const [gsm, ucs2] = [await byId(ids.a1!), await byId(ids.a2!)];
    expect([gsm.recipient, gsm.encoding, ucs2.recipient, ucs2.encoding]).toEqual([
      '+79991110001',
      'GSM',
      '+79996660002',
      'UCS-2',
    ]);
    expect((await list(d, '', alice)).messages.find((m) => m.queueId === ids.a1)).toMatchObject({
      recipient: '+79991110001',
      encoding: 'GSM',
    });
    const login = await fetch(`${d.web}/signin`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ username: 'alice', password: USERS.alice }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = await (await fetch(`${d.web}/messages/${ids.a1}`, { headers: { cookie } })).text();
    expect(page).toContain('To +79991110001');
    expect(page).toContain('1 part(s), GSM');
    const listPage = await (await fetch(`${d.web}/?q=ticket`, { headers: { cookie } })).text();
    expect(listPage).toContain('<td class="num">+79991110001</td>');
    expect(listPage).toContain('1 × GSM');
    const queue = runCli(['queue', '--config', d.configPath, '--id', ids.a1!, '--json']);
    expect(queue.stderr).toBe('');
    expect(JSON.parse(queue.stdout)).toMatchObject([{ recipient: '+79991110001', encoding: 'GSM' }]);
    // The queue's list: the time accepted (UTC, as the API's acceptedAt to the second) and the text's first words.
    const text = runCli(['queue', '--config', d.configPath, '--limit', '100']).stdout;
    const line = text.split('\n').find((l) => l.includes(ids.a1!))!;
    expect(line).toContain(`${String(gsm.acceptedAt).slice(0, 19)}Z ${ids.a1} +79991110001`);
    expect(line).toContain('1×GSM "disk full on db1"');
    expect(text.split('\n').find((l) => l.includes(ids.a2!))).toContain('1×UCS-2 "Ошибка Диск"');
  });

  it('bad filters get 400 naming the parameter', async () => {
    for (const [q, param] of [
      ['state=nope', 'state'],
      ['since=yesterday', 'since'],
      ['number=abc', 'number'],
      ['after=1', 'after'],
      ['limit=0', 'limit'],
    ]) {
      const r = await api(d, `/api/messages?${q}`, alice);
      expect([r.status, String(r.body.error).split(':')[0]]).toEqual([400, param]);
    }
  });

  it("one message by queue id: one's own; another user's is 404, as is an unknown id", async () => {
    const own = await api(d, `/api/messages/${ids.a1}`, alice);
    expect(own.status).toBe(200);
    expect((own.body.recipients as Msg[]).map((m) => m.recipient)).toEqual(['+79991110001']);
    expect((await api(d, `/api/messages/${ids.b1}`, alice)).status).toBe(404);
    expect((await api(d, `/api/messages/${ids.anon}`, alice)).status).toBe(404);
    expect((await api(d, '/api/messages/nope', alice)).status).toBe(404);
  });

  it('no credentials: 401 with a Basic challenge; wrong ones: 401, slowed down; a token is only for its user', async () => {
    const none = await fetch(`${d.web}/api/messages`);
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([
      401,
      'Basic realm="smtp2sms", charset="UTF-8"',
    ]);
    expect((await api(d, '/api/messages', basic('alice', 'wrong'))).status).toBe(401);
    expect((await api(d, '/api/messages', basic('nobody', 'x'))).status).toBe(401);
    expect((await api(d, '/api/messages', `Bearer alice:${ROOT_TOKEN}`)).status).toBe(401);
    expect((await api(d, '/api/messages', `Bearer ${ROOT_TOKEN}`)).status).toBe(401);
    // The fifth failure from this IP waits 500 ms × 2^4 before its answer (smtp/auth.ts AuthThrottle).
    const t0 = Date.now();
    expect((await api(d, '/api/messages', basic('bob', 'wrong'))).status).toBe(401);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(7_000);
  }, 30_000);

  it("the page's stylesheet and script come from the build (dist/web/public, beside the compiled module)", async () => {
    for (const [path, type] of [
      ['/static/app.css', 'text/css'],
      ['/static/app.js', 'javascript'],
    ] as const) {
      const res = await fetch(`${d.web}${path}`);
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 200, expect.stringContaining(type)]);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  });

  it('the page: no session redirects to sign-in; the cancel form without CSRF token is refused; security headers', async () => {
    const res = await fetch(`${d.web}/`, { redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([303, '/signin']);
    const signin = await fetch(`${d.web}/signin`);
    expect(signin.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(signin.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    // Sign in as bob, then post a cancel without the token.
    const login = await fetch(`${d.web}/signin`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ username: 'bob', password: USERS.bob }),
    });
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const jar = cookie.split(';')[0]!;
    const cancel = await fetch(`${d.web}/messages/${ids.b1}/cancel`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar },
      body: new URLSearchParams({ id: '1' }),
    });
    expect(cancel.status).toBe(403);
    const others = await fetch(`${d.web}/messages/${ids.a1}`, { headers: { cookie: jar } });
    expect(others.status).toBe(404);
    expect(await others.text()).not.toContain('disk full');
  });
});
