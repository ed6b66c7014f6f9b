/**
 * SIGHUP reloads smtp.auth.users for every listener that checks them, against the daemon as a child process: a user
 * removed from the file is refused by SMTP AUTH (535), by the API (Basic and Bearer, 401, though both had just
 * verified and were cached) and by the web page (its open session ends: the next page is the sign-in); an added
 * user can AUTH, sign in and use the API at once; a user whose password changed must sign in again; an unchanged
 * user keeps working, session included. The reload's log line names what it applied, users by name only.
 */
import { writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { hashPassword } from '../../src/smtp/auth.js';
import { freePort, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { authPlain, RawSmtp, sendMail } from '../helpers/smtp-client.js';
import { api, basic, type WebDaemon } from '../helpers/web.js';

const started = stopAfterEach();
const PW = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw', dave: 'dave-pw', daveNew: 'dave-pw-2' };
const TOKEN = { alice: 'alice-token-0123456789', carol: 'carol-token-0123456789' };

/** SMTP AUTH PLAIN on a fresh connection: the reply code. */
async function smtpAuth(port: number, user: string, pass: string): Promise<number> {
  const { client } = await RawSmtp.connect(port);
  try {
    await client.cmd('EHLO test.example');
    return (await client.cmd(`AUTH PLAIN ${authPlain(user, pass)}`)).code;
  } finally {
    client.close();
  }
}

async function mail(d: WebDaemon, user: string, pass: string, text: string): Promise<string> {
  const body = `Subject: ${text}\r\n\r\n${text}\r\n`;
  const r = await sendMail(d.port, { to: ['+79991234567@sms.example.test'], body, auth: [user, pass] });
  const id = /Queued as (\S+?):/.exec(r.data[0]?.text ?? '')?.[1];
  if (!id) throw new Error(`not queued: ${JSON.stringify(r)}`);
  return id;
}

/** Sign in on the form: the session cookie as the browser holds it, or the refusal's status. */
async function signIn(d: WebDaemon, username: string, password: string): Promise<{ status: number; cookie: string }> {
  const res = await fetch(`${d.web}/signin`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username, password }),
  });
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]! };
}

/** A page with a session cookie: its status, where a redirect goes, and its text. */
async function page(d: WebDaemon, path: string, cookie: string) {
  const res = await fetch(`${d.web}${path}`, { redirect: 'manual', headers: { cookie } });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

const queueIds = async (d: WebDaemon, auth: string) => {
  const r = await api(d, '/api/messages', auth);
  return { status: r.status, ids: ((r.body.messages ?? []) as Array<{ queueId: string }>).map((m) => m.queueId) };
};

describe('SIGHUP reloads users for SMTP, the web page and the API', () => {
  it('a removed user is refused everywhere and signed out, an added one let in, an unchanged one kept', async () => {
    const sim = started.simulator(new SmscSimulator());
    const dir = tempDir();
    const webPort = await freePort();
    const alice = {
      username: 'alice',
      password_hash: await hashPassword(PW.alice),
      api_token_hash: await hashPassword(TOKEN.alice),
    };
    const bob = { username: 'bob', password: PW.bob };
    const carol = {
      username: 'carol',
      password_hash: await hashPassword(PW.carol),
      api_token_hash: await hashPassword(TOKEN.carol),
    };
    const dave = { username: 'dave', password: PW.dave };
    const cfg = testConfig(await sim.listen(0), dir, {
      smtp: { auth: { users: [alice, bob, dave] } },
      web: { port: webPort },
    });
    const d: WebDaemon = Object.assign(started.daemon(await spawnDaemon(cfg, dir)), {
      web: `http://127.0.0.1:${webPort}`,
    });
    await waitFor(() => d.logs.some((l) => l.msg === 'web page and API listening'), 20_000, 'the web page');

    const aliceBasic = basic('alice', PW.alice);
    const aliceBearer = `Bearer alice:${TOKEN.alice}`;
    const aliceMail = await mail(d, 'alice', PW.alice, 'from alice');
    const bobMail = await mail(d, 'bob', PW.bob, 'from bob');
    const aliceWeb = await signIn(d, 'alice', PW.alice);
    const bobWeb = await signIn(d, 'bob', PW.bob);
    const daveWeb = await signIn(d, 'dave', PW.dave);
    expect([aliceWeb.status, bobWeb.status, daveWeb.status]).toEqual([303, 303, 303]);
    expect((await page(d, '/', aliceWeb.cookie)).text).toContain(aliceMail);
    // Both verified now, so both sit in the API's credential cache when the reload comes.
    expect(await queueIds(d, aliceBasic)).toEqual({ status: 200, ids: [aliceMail] });
    expect(await queueIds(d, aliceBearer)).toEqual({ status: 200, ids: [aliceMail] });

    // SMTP sessions that authenticated before the reload, still open across it.
    const openSession = async (user: string, pass: string) => {
      const { client } = await RawSmtp.connect(d.port);
      await client.cmd('EHLO test.example');
      expect((await client.cmd(`AUTH PLAIN ${authPlain(user, pass)}`)).code).toBe(235);
      return client;
    };
    const aliceSmtp = await openSession('alice', PW.alice);
    const bobSmtp = await openSession('bob', PW.bob);

    // The file loses alice, gains carol; dave gets a new password; bob stays as he was.
    (cfg.smtp as { auth: { users: unknown[] } }).auth.users = [bob, carol, { ...dave, password: PW.daveNew }];
    writeFileSync(d.configPath, YAML.stringify(cfg));
    d.child.kill('SIGHUP');
    await waitFor(() => d.logs.some((l) => l.msg === 'configuration reloaded'), 10_000, 'the reload');

    const line = d.logs.find((l) => l.msg === 'configuration reloaded')!;
    expect(line).toMatchObject({
      applied: ['smtp.auth.users'],
      users: { added: ['carol'], removed: ['alice'], changed: ['dave'], signInAgain: ['alice', 'dave'] },
      webSessionsEnded: 2,
    });
    expect(JSON.stringify(line)).not.toMatch(/scrypt|-pw|token-/);
    expect(d.logs.some((l) => l.msg === 'these changes need a restart to take effect')).toBe(false);

    // alice: SMTP (a new AUTH, and the session open since before), the API (cached Basic and Bearer alike), the
    // old web session, a new sign-in.
    expect(await smtpAuth(d.port, 'alice', PW.alice)).toBe(535);
    const stale = await aliceSmtp.cmd('MAIL FROM:<alice@example.test>');
    expect([stale.code, stale.text]).toEqual([530, expect.stringContaining('5.7.0 Authentication required')]);
    aliceSmtp.close();
    expect((await bobSmtp.cmd('MAIL FROM:<bob@example.test>')).code).toBe(250);
    bobSmtp.close();
    expect((await api(d, '/api/messages', aliceBasic)).status).toBe(401);
    expect((await api(d, '/api/messages', aliceBearer)).status).toBe(401);
    expect((await api(d, `/api/messages/${aliceMail}`, aliceBearer)).status).toBe(401);
    for (const path of ['/', `/messages/${aliceMail}`, '/daily']) {
      const old = await page(d, path, aliceWeb.cookie);
      expect([old.status, old.location], path).toEqual([303, '/signin']);
    }
    expect((await page(d, '/signin', aliceWeb.cookie)).status).toBe(200); // the form, not a loop back to '/'

    // carol: SMTP AUTH and mail, the web page, the API by Basic and Bearer.
    expect(await smtpAuth(d.port, 'carol', PW.carol)).toBe(235);
    const carolMail = await mail(d, 'carol', PW.carol, 'from carol');
    const carolWeb = await signIn(d, 'carol', PW.carol);
    expect(carolWeb.status).toBe(303);
    const carolPage = await page(d, '/', carolWeb.cookie);
    expect(carolPage.status).toBe(200);
    expect(carolPage.text).toContain(carolMail);
    expect(carolPage.text).not.toContain(aliceMail);
    // After carol's sign-in reset this client's failure delay (each failure above doubled it).
    expect((await signIn(d, 'alice', PW.alice)).status).toBe(401);
    expect(await queueIds(d, basic('carol', PW.carol))).toEqual({ status: 200, ids: [carolMail] });
    expect(await queueIds(d, `Bearer carol:${TOKEN.carol}`)).toEqual({ status: 200, ids: [carolMail] });

    // dave: the old session ended with the old password; the new one signs in.
    expect((await page(d, '/', daveWeb.cookie)).status).toBe(303);
    expect(await smtpAuth(d.port, 'dave', PW.dave)).toBe(535);
    expect((await signIn(d, 'dave', PW.daveNew)).status).toBe(303);

    // bob: unchanged, so his session from before the reload still serves his messages, and SMTP and the API work.
    const bobPage = await page(d, '/', bobWeb.cookie);
    expect(bobPage.status).toBe(200);
    expect(bobPage.text).toContain(bobMail);
    expect(await smtpAuth(d.port, 'bob', PW.bob)).toBe(235);
    expect(await queueIds(d, basic('bob', PW.bob))).toEqual({ status: 200, ids: [bobMail] });
  }, 60_000);
});
