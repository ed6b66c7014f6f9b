/** A daemon with the web page on, three accounts (alice, bob, admin root with an API token), and HTTP helpers. */
import { hashPassword } from '../../src/smtp/auth.js';
import { freePort, spawnDaemon, tempDir, testConfig, waitFor, type DaemonProcess } from './daemon-process.js';

export const USERS = { alice: 'alice-pw', bob: 'bob-pw', root: 'root-pw' } as const;
export const ROOT_TOKEN = 'root-token-0123456789';

export interface WebDaemon extends DaemonProcess {
  web: string;
}

export async function spawnWebDaemon(smscPort: number, overrides: Record<string, unknown> = {}): Promise<WebDaemon> {
  const dir = tempDir();
  const users = [
    { username: 'alice', password_hash: await hashPassword(USERS.alice) },
    { username: 'bob', password: USERS.bob },
    {
      username: 'root',
      password_hash: await hashPassword(USERS.root),
      admin: true,
      api_token_hash: await hashPassword(ROOT_TOKEN),
    },
  ];
  const webPort = await freePort();
  const config = testConfig(smscPort, dir, { smtp: { auth: { users } }, web: { port: webPort }, ...overrides });
  const d = await spawnDaemon(config, dir);
  await waitFor(() => d.logs.some((l) => l.msg === 'web page and API listening'), 20_000, 'the web page');
  return Object.assign(d, { web: `http://127.0.0.1:${webPort}` });
}

export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

export async function api(
  d: WebDaemon,
  path: string,
  auth?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${d.web}${path}`, { headers: auth ? { authorization: auth } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
