/**
 * The web page and API over a spool of 1 M rows (npm run bench:web): each page kind asked 30 times, p50/p99 of the
 * full HTTP answer, written to BENCHMARKS.md's `web` section. 20 users, 1 M rows over 30 days, one user in ten
 * with no AUTH; the text search is the worst case (a word no row has: every row of the scope is read).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/log.js';
import { LocalSpool } from '../../src/spool/local.js';
import { SqliteSpool } from '../../src/spool/sqlite/store.js';
import { startWeb } from '../../src/web/server.js';
import { commitId, fmt, percentile, writeSection } from './lib.js';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const USERS = 20;
const DAY = 86_400_000;
const RUNS = 30;

const dir = mkdtempSync(join(tmpdir(), 'web-bench-'));
const store = new SqliteSpool(join(dir, 'spool.sqlite'));
const now = Date.now();
const start = now - 30 * DAY;
const t0 = performance.now();
const insert =
  store.db.prepare(`INSERT INTO sms (queue_id, recipient, state, reason, source_addr, source_ton, source_npi,
  text, comment, coding, data_coding, sms_count, truncated, parts, message_id, smtp_user, mail_from, client_ip, fingerprint,
  created_at, updated_at, next_attempt_at, smsc_ids, receipts, attempts)
  VALUES (?, ?, ?, ?, 'Alerts', 5, 0, ?, ?, 'gsm7', 0, ?, 0, '[]', ?, ?, 'alerts@example.org', '127.0.0.1', ?, ?, ?, ?, ?, ?, 1)`);
const STATES = ['delivered', 'delivered', 'delivered', 'delivered', 'undeliverable', 'failed', 'expired', 'submitted'];
store.db.transaction(() => {
  for (let i = 0; i < ROWS; i++) {
    const at = start + Math.floor((i / ROWS) * 30 * DAY);
    const user = i % 10 === 9 ? null : `user${i % USERS}`;
    const state = STATES[i % STATES.length]!;
    const parts = 1 + (i % 3);
    const ids = JSON.stringify(Array.from({ length: parts }, (_, p) => `${i}-${p}`));
    const receipts = JSON.stringify(Array.from({ length: parts }, () => (state === 'delivered' ? 'DELIVRD' : null)));
    insert.run(
      `q${i.toString(16).padStart(12, '0')}`,
      `7999${String(i % 50_000).padStart(7, '0')}`,
      state,
      state === 'undeliverable' ? 'receipt stat:UNDELIV err:1' : null,
      `Alert ${i}: CPU load high on host-${i % 500}`,
      i % 7 === 0 ? `ticket OPS-${i}` : '',
      parts,
      `<m${i}@example.org>`,
      user,
      `fp${i}`,
      at,
      at,
      at,
      ids,
      receipts,
    );
  }
})();
store.db.exec('ANALYZE');
const fillS = (performance.now() - t0) / 1000;

const config = parseConfig({
  smtp: {
    auth: {
      users: [
        { username: 'user4', password: 'pw4' },
        { username: 'root', password: 'pwr', admin: true },
      ],
    },
  },
  web: { port: 0 },
});
const web = await startWeb({ ...config, web: { ...config.web, port: 0 } }, createLogger('silent'), {
  spool: new LocalSpool(store),
  binds: async () => [],
});
const base = `http://127.0.0.1:${web.port()}`;
const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
const user = auth('user4', 'pw4');
const root = auth('root', 'pwr');

async function get(path: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(base + path, { headers });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
  return body;
}
/** A signed-in session for the HTML pages (the form, as a browser does). */
async function session(u: string, p: string): Promise<Record<string, string>> {
  const res = await fetch(`${base}/signin`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username: u, password: p }),
  });
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]! };
}
const userPage = await session('user4', 'pw4');
const rootPage = await session('root', 'pwr');

const mid = JSON.parse(await get(`/api/messages?limit=1&until=${start + 15 * DAY}`, root)) as { next: string };
const deep = JSON.parse(await get(`/api/messages?limit=1&until=${start + 15 * DAY}`, user)) as { next: string };
const someQueue = `q${(ROWS - 17).toString(16).padStart(12, '0')}`;
const day = new Date(start + 10 * DAY).toISOString().slice(0, 10);

const kinds: Array<[string, string, Record<string, string>]> = [
  ['API list, admin, first page', '/api/messages', root],
  ['API list, admin, page at row ~500 k (after=)', `/api/messages?after=${mid.next}`, root],
  ['API list, user, first page', '/api/messages', user],
  ['API list, user, page at the middle (after=)', `/api/messages?after=${deep.next}`, user],
  ['API list, user, state=undeliverable', '/api/messages?state=undeliverable', user],
  ['API list, user, number', '/api/messages?number=%2B79990000124', user],
  ['API list, user, one day (since/until)', `/api/messages?since=${day}&until=${day}`, user],
  ['API list, user, text found (q=OPS-12)', '/api/messages?q=OPS-12', user],
  ['API list, user, text nowhere (q=zzzz, worst case)', '/api/messages?q=zzzz', user],
  ['API one message', `/api/messages/${someQueue}`, root],
  ['page: list, user', '/', userPage],
  ['page: list, admin', '/', rootPage],
  ['page: one message', `/messages/${someQueue}`, rootPage],
  ['page: daily counts, user (30 days)', '/daily', userPage],
  ['page: daily counts, admin (30 days, all 1 M rows)', '/daily', rootPage],
];

const lines = [
  `Web page and API over a SQLite spool of ${fmt(ROWS)} rows (${USERS} users, 30 days), commit ${commitId()}, ` +
    `${RUNS} requests per kind, one at a time, over loopback HTTP (Basic, verified once then cached; pages by session).`,
  `Filling the spool took ${fmt(fillS, 1)} s.`,
  '',
  '| page | p50 ms | p99 ms | bytes |',
  '| --- | ---: | ---: | ---: |',
];
for (const [name, path, headers] of kinds) {
  let size = 0;
  const ms: number[] = [];
  await get(path, headers);
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    size = (await get(path, headers)).length;
    ms.push(performance.now() - t);
  }
  const row = `| ${name} | ${fmt(percentile(ms, 50), 1)} | ${fmt(percentile(ms, 99), 1)} | ${fmt(size)} |`;
  console.log(row);
  lines.push(row);
}
await web.close();
await store.close();
writeSection('web', `## Web page and API (npm run bench:web)\n\n${lines.join('\n')}`);
