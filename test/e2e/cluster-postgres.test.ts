/**
 * Several nodes on one PostgreSQL database (issue 14): two daemons as child processes, one simulator. The
 * provider's rules hold for the cluster (one SMS for an identical mail sent to both at once, the flood rule counts
 * both nodes' acceptances); one node at a time holds the binds (the simulator never sees more than smpp.binds per
 * mode); the bind holder SIGKILLed mid-load → the other binds within the failover time, takes over the dead node's
 * rows after their lease, and every mail that got 250 reaches the simulator; the database stopped for 10 s under
 * load → 451 while it is down, no 250 lost, all resumes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { runCliAsync } from '../helpers/cli.js';
import { stopAfterEach, tempDir, waitFor } from '../helpers/daemon-process.js';
import {
  CLUSTER,
  everyAcceptedSent,
  holderMetric,
  load,
  type Node,
  reply,
  rows,
  startNode,
} from '../helpers/cluster.js';
import { ownPostgresForSuite } from '../helpers/own-postgres-suite.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { sendMail } from '../helpers/smtp-client.js';

const started = stopAfterEach();

describe('two nodes on one database', () => {
  // A database per test: the cluster's shared settings and node locks of one test's nodes must not meet the next's.
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db?.drop();
  });

  it('one node holds the binds; identical mail to both → one SMS, one refusal; a used node.id is refused', async () => {
    const sim = started.simulator(new SmscSimulator({}));
    const smscPort = await sim.listen(0);
    const a = await startNode(started.daemon, db.url, smscPort, 'node-a');
    const b = await startNode(started.daemon, db.url, smscPort, 'node-b');
    await waitFor(() => sim.binds > 0, 10_000, 'a bind');
    const holders = [await holderMetric(a), await holderMetric(b)].sort();
    expect(holders).toEqual([0, 1]);

    const mail = { to: ['+79993000001@sms.example.test'], body: 'Subject: disk\r\n\r\n/ is 97% full\r\n' };
    const both = await Promise.all([sendMail(a.d.port, mail), sendMail(b.d.port, mail)]);
    const codes = both.map((r) => reply(r).code).sort();
    expect(codes).toEqual([250, 550]);
    expect(both.map(reply).find((r) => r.code === 550)?.text).toMatch(/^5\.\d\.\d+ .*(duplicate|identical)/i);
    await waitFor(() => sim.received.length >= 1, 10_000, 'the SMS');
    await new Promise((r) => setTimeout(r, 1000));
    expect(sim.received.filter((s) => s.to.endsWith('79993000001'))).toHaveLength(1);
    // The standby says once that it stands by (it has tried for the lease every second since); the holder never.
    const standingBy = (n: Node) => n.d.logs.filter((x) => String(x.msg).startsWith('standing by:'));
    const [holderNode, standbyNode] = (await holderMetric(a)) === 1 ? [a, b] : [b, a];
    expect(standingBy(standbyNode)).toHaveLength(1);
    expect(standingBy(holderNode)).toEqual([]);

    // The standby announces what it queues (the holder's relay hears it instead of waiting for its poll); the
    // holder does not.
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.channel));
    await listener.query('LISTEN smtp2sms_queued');
    const standby = (await holderMetric(a)) === 1 ? b : a;
    const first = standby === a ? b : a;
    expect(
      reply(await sendMail(first.d.port, { to: ['+79993000004@sms.example.test'], body: 'Subject: h\r\n\r\nh\r\n' }))
        .code,
    ).toBe(250);
    await waitFor(() => sim.received.some((s) => s.to.endsWith('79993000004')), 10_000, 'the holder’s mail');
    expect(heard).toEqual([]);
    expect(
      reply(await sendMail(standby.d.port, { to: ['+79993000005@sms.example.test'], body: 'Subject: s\r\n\r\ns\r\n' }))
        .code,
    ).toBe(250);
    await waitFor(() => heard.length > 0, 10_000, 'the standby’s announcement');
    await listener.end();

    // A retransmission (same Message-ID) to the other node is recognised: 250 again, no second SMS.
    const withId = {
      to: ['+79993000002@sms.example.test'],
      body: 'Message-ID: <r1@x>\r\nSubject: r\r\n\r\nretry me\r\n',
    };
    expect(reply(await sendMail(a.d.port, withId)).code).toBe(250);
    expect(reply(await sendMail(b.d.port, withId)).code).toBe(250);
    await waitFor(() => sim.received.some((s) => s.to.endsWith('79993000002')), 10_000, 'the retransmitted SMS');
    await new Promise((r) => setTimeout(r, 1000));
    expect(sim.received.filter((s) => s.to.endsWith('79993000002'))).toHaveLength(1);

    // A third daemon claiming node-a's id while node-a lives: exit 2 naming node.id.
    const dir = tempDir();
    const clashConfig = join(dir, 'clash.yaml');
    writeFileSync(
      clashConfig,
      YAML.stringify({
        spool: { backend: 'postgres', url: db.url, pool_size: 2 },
        node: { id: 'node-a' },
        smtp: { port: 0 },
        metrics: { port: 0 },
        web: { port: 0 },
      }),
    );
    const clash = await runCliAsync(['serve', '--config', clashConfig]);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toMatch(/^smtp2sms: node\.id: another live node uses the id "node-a"/);

    // A node whose rules differ from the running cluster's refuses to start, naming each key and both values.
    const odd = join(dir, 'odd.yaml');
    const base = YAML.parse(readFileSync(a.d.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    writeFileSync(
      odd,
      YAML.stringify({
        ...base,
        node: { id: 'node-c' },
        smtp: { ...base.smtp, port: 0 },
        metrics: { port: 0 },
        policy: { ...base.policy, duplicate_window_s: 30 },
        cluster: { ...CLUSTER, failover_s: 6 },
      }),
    );
    const mismatch = await runCliAsync(['serve', '--config', odd]);
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toContain("cluster settings: this node's differ from the running cluster's");
    expect(mismatch.stderr).toContain('policy.duplicate_window_s: this node has 30, the cluster has 60 (set by node');
    expect(mismatch.stderr).toContain('cluster.failover_s: this node has 6, the cluster has 3');

    // The holder's lease connection cut (a network blip, an administrator's pg_terminate_backend): the lease lives
    // in the database, not in that session, so the holder reconnects, renews and keeps its binds; the other node
    // does not bind (issue 23: a session lock's only liveness signal was the server noticing a dead session).
    const holder = (await holderMetric(a)) === 1 ? a : b;
    const other = holder === a ? b : a;
    const holderId = holder === a ? 'node-a' : 'node-b';
    // A standby is healthy (a load balancer keeps sending it mail): its binds are reported, not required.
    const health = async (x: Node) => {
      const r = await fetch(`http://127.0.0.1:${x.metricsPort}/healthz`);
      return [r.status, ((await r.json()) as { role: string }).role];
    };
    expect([await health(holder), await health(other)]).toEqual([
      [200, 'holder'],
      [200, 'standby'],
    ]);
    const bindsBefore = sim.binds;
    const cut = await rows(
      db.url,
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`,
      [`smtp2sms ${holderId} binds`],
    );
    expect(cut).toEqual([{ ok: true }]);
    await new Promise((r) => setTimeout(r, CLUSTER.failover_s * 1000 * 1.5));
    expect([await holderMetric(holder), await holderMetric(other), sim.binds]).toEqual([1, 0, bindsBefore]);
    expect(holder.d.logs.some((l) => String(l.msg).startsWith('this node lost the SMPP binds lease'))).toBe(false);
    const after = { to: ['+79993000003@sms.example.test'], body: 'Subject: after\r\n\r\nafter the cut\r\n' };
    expect(reply(await sendMail(holder.d.port, after)).code).toBe(250);
    await waitFor(() => sim.received.some((s) => s.to.endsWith('79993000003')), 10_000, 'mail after the cut');
    // Never two binds at once, through the whole test.
    expect(sim.maxBound).toMatchObject({ transceiver: 1, transmitter: 0, receiver: 0 });
  });

  it('60 mails to one number spread over both nodes → the 51st is refused (flood counts every node)', async () => {
    const sim = started.simulator(new SmscSimulator({}));
    const smscPort = await sim.listen(0);
    const a = await startNode(started.daemon, db.url, smscPort, 'flood-a');
    const b = await startNode(started.daemon, db.url, smscPort, 'flood-b');
    const codes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const n = i % 2 === 0 ? a : b;
      const r = await sendMail(n.d.port, {
        to: ['+79993100000@sms.example.test'],
        body: `Subject: f${i}\r\n\r\nflood ${i}\r\n`,
      });
      codes.push(reply(r).code);
    }
    expect(codes.slice(0, 50).every((c) => c === 250)).toBe(true);
    expect(codes[50]).toBeGreaterThanOrEqual(450);
    expect(codes.slice(50).every((c) => c >= 400)).toBe(true);
  });
});

/** Many mails from 8 connections spread over the nodes; returns what got 250 and a stop function. */
describe('failover', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('holder SIGKILLed under load (8 connections): the other binds, takes its rows over, every 250 is sent', async () => {
    // Slow answers keep rows in flight (state 'sending', the holder's lease) when the holder dies.
    const sim = started.simulator(new SmscSimulator({ delayMs: 300 }));
    const smscPort = await sim.listen(0);
    const smpp = { binds: 2, bind_mode: 'transmitter_receiver', window: 5 };
    const a = await startNode(started.daemon, db.url, smscPort, 'fo-a', { smpp });
    const b = await startNode(started.daemon, db.url, smscPort, 'fo-b', { smpp });
    await waitFor(() => sim.boundNow.transmitter === 2, 10_000, 'the binds');
    const holder = (await holderMetric(a)) === 1 ? a : b;
    const standby = holder === a ? b : a;
    let alive = [a, b];
    const l = load(() => alive, '799940');
    await waitFor(() => l.accepted.size >= 40, 20_000, 'mail accepted before the kill').catch((e) => {
      console.log(l.accepted.size, l.refused.slice(0, 3), a.d.logs.filter((x) => Number(x.level) >= 40).slice(0, 5));
      throw e;
    });
    const inFlight = await rows(db.url, `SELECT id FROM sms WHERE state = 'sending'`);
    await holder.d.kill('SIGKILL');
    const killedAt = Date.now();
    alive = [standby];
    // The standby's own binds (2 transmitters, 2 receivers): the simulator may not have seen the dead node's sockets
    // close yet, so its count of bound transmitters alone would say 2 at once.
    const newBinds = () => sim.sessions.filter((s) => s.boundAt !== undefined && s.boundAt >= killedAt);
    await waitFor(() => newBinds().length === 4, 15_000, 'the standby binds');
    const failover = Math.max(...newBinds().map((s) => s.boundAt!)) - killedAt;
    console.log(`failover: the standby bound ${failover} ms after the holder was killed`);
    await waitFor(() => l.accepted.size >= 80, 20_000, 'mail accepted after the kill');
    await l.stop();
    await everyAcceptedSent(sim, l.accepted, 30_000);

    // Within failover_s (plus a bind's own time); the dead node's rows were taken over.
    expect(failover).toBeLessThan(CLUSTER.failover_s * 1000 + 2000);
    expect(await holderMetric(standby)).toBe(1);
    // It said once that it stood by, and that it took the binds over.
    expect(standby.d.logs.filter((x) => String(x.msg).startsWith('standing by:'))).toHaveLength(1);
    expect(
      standby.d.logs.find((x) => x.msg === 'this node holds the SMPP binds and relays for the cluster'),
    ).toMatchObject({ node: standby === a ? 'fo-a' : 'fo-b', tookOver: true });
    // The dead node's rows in flight at the kill are taken over once their lease has run out (then sent again).
    const deadId = holder === a ? 'fo-a' : 'fo-b';
    let left = await rows(db.url, `SELECT id, owner FROM sms WHERE state = 'sending' OR owner = $1`, [deadId]);
    const leaseEnd = killedAt + (CLUSTER.lease_s + 2 * CLUSTER.lease_renew_s + 5) * 1000;
    while (left.length > 0 && Date.now() < leaseEnd) {
      await new Promise((r) => setTimeout(r, 250));
      left = await rows(db.url, `SELECT id, owner FROM sms WHERE state = 'sending' OR owner = $1`, [deadId]);
    }
    expect(left).toEqual([]);
    const tookOver = (m: string) =>
      m.startsWith('rows the previous holder was sending') || m.startsWith('took over rows');
    expect(standby.d.logs.some((x) => tookOver(String(x.msg))) || inFlight.length === 0).toBe(true);
    // Sent twice only what was in flight at the kill: rows 'sending' just before it (submits unanswered, or
    // answered with the outcome not yet committed), and what the holder claimed between that read and the kill.
    const counts = new Map<string, number>();
    for (const s of sim.received) counts.set(s.to, (counts.get(s.to) ?? 0) + 1);
    const twice = [...counts.values()].filter((c) => c > 1).length;
    console.log(`failover: ${l.accepted.size} accepted, ${twice} sent twice, ${inFlight.length} in flight at the kill`);
    expect(twice).toBeLessThanOrEqual(inFlight.length + smpp.binds * smpp.window);
    // Never more binds than configured, across the whole test (failover included).
    expect(sim.maxBound).toMatchObject({ transmitter: 2, receiver: 2, transceiver: 0 });
    // The killed node's open sessions end without an answer (code 0 here): never a 250 that was lost.
    expect(l.refused.filter((r) => r.code !== 451 && r.code !== 0)).toEqual([]);
  }, 90_000);
});

describe('the database stopped under load with two nodes', () => {
  const own = ownPostgresForSuite();

  it('451 4.3.0 while it is down, no 250 lost, both nodes resume and one binds again', async () => {
    const sim = started.simulator(new SmscSimulator({}));
    const smscPort = await sim.listen(0);
    const a = await startNode(started.daemon, own.url, smscPort, 'pg-a');
    const b = await startNode(started.daemon, own.url, smscPort, 'pg-b');
    await waitFor(() => sim.boundNow.transceiver === 1, 10_000, 'a bind');
    const l = load(() => [a, b], '799950');
    await waitFor(() => l.accepted.size >= 20, 20_000, 'mail accepted before the stop');
    await own.stop();
    const atStop = l.accepted.size;
    await waitFor(() => l.refused.length >= 3, 20_000, '451s while the database is down');
    await new Promise((r) => setTimeout(r, 10_000));
    await own.start();
    await waitFor(() => l.accepted.size >= atStop + 20, 30_000, 'mail accepted again after the start');
    await l.stop();
    expect(new Set(l.refused.map((r) => `${r.code} ${r.text.slice(0, 5)}`))).toEqual(new Set(['451 4.3.0']));
    expect([a.d.child.exitCode, b.d.child.exitCode]).toEqual([null, null]);
    await everyAcceptedSent(sim, l.accepted, 30_000);
    expect(sim.maxBound.transceiver).toBe(1);
    expect([await holderMetric(a), await holderMetric(b)].sort()).toEqual([0, 1]);
  }, 120_000);
});
