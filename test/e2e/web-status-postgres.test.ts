/**
 * The admins' status page with several nodes on one PostgreSQL database (issue 14 part 3, issue 16): every node's
 * page names the node holding the SMPP binds and lists the live nodes with their role and binds; when the holder
 * stops, the other node's page shows itself as the holder once it has bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { stopAfterEach, waitFor } from '../helpers/daemon-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { spawnWebDaemon, USERS, type WebDaemon } from '../helpers/web.js';

const started = stopAfterEach();
const CLUSTER = { lease_s: 3, lease_renew_s: 1, failover_s: 3 };

async function startNode(url: string, smscPort: number, id: string): Promise<WebDaemon> {
  const d = await spawnWebDaemon(smscPort, {
    spool: { backend: 'postgres', url, pool_size: 4, statement_timeout_ms: 2000 },
    node: { id },
    cluster: CLUSTER,
  });
  started.daemon(d);
  return d;
}

/** The status page's text as the admin sees it. */
async function status(d: WebDaemon): Promise<string> {
  const login = await fetch(`${d.web}/signin`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username: 'root', password: USERS.root }),
  });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const res = await fetch(`${d.web}/status`, { headers: { cookie } });
  expect(res.status).toBe(200);
  return (await res.text()).replace(/<[^>]+>/g, '').replace(/\s+/g, ' ');
}

describe('status page: which node holds the SMPP binds', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('both nodes name the holder and list both nodes; after the holder stops, the other holds', async () => {
    const sim = started.simulator(new SmscSimulator({}));
    const smscPort = await sim.listen(0);
    const a = await startNode(db.url, smscPort, 'node-a');
    const b = await startNode(db.url, smscPort, 'node-b');
    await waitFor(() => sim.binds > 0, 10_000, 'a bind');
    let pages: string[] = [];
    for (let i = 0; i < 50; i++) {
      pages = [await status(a), await status(b)];
      if (pages.every((p) => /SMPP binds held by node node-[ab]/.test(p))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const holder = /SMPP binds held by node (node-[ab])/.exec(pages[0]!)?.[1];
    expect(holder, pages[0]).toBeDefined();
    expect(pages[1]).toContain(`SMPP binds held by node ${holder}`);
    const [holding, standing] = holder === 'node-a' ? [a, b] : [b, a];
    const standbyId = holder === 'node-a' ? 'node-b' : 'node-a';
    const onHolder = pages[holder === 'node-a' ? 0 : 1]!;
    const onStandby = pages[holder === 'node-a' ? 1 : 0]!;
    expect(onHolder).toContain(`SMPP binds held by node ${holder} (this node)`);
    expect(onHolder).toMatch(new RegExp(`${holder} \\(this node\\) holds the binds, relays for the cluster 1 of 1 up`));
    expect(onHolder).toContain(`${standbyId} stands by (accepts mail) none (standby)`);
    expect(onStandby).toMatch(new RegExp(`${holder} holds the binds, relays for the cluster bound`));
    expect(onStandby).toContain(`${standbyId} (this node) stands by (accepts mail) 0 of 0 up`);
    expect(onStandby).toContain('None: this node stands by while another holds the binds.');

    await holding.kill('SIGTERM');
    let after = '';
    for (let i = 0; i < 100; i++) {
      after = await status(standing);
      if (after.includes(`SMPP binds held by node ${standbyId} (this node)`)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(after).toContain(`SMPP binds held by node ${standbyId} (this node)`);
    expect(after).not.toContain(`${holder} `);
  }, 90_000);
});
