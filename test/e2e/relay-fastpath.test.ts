/**
 * Fresh mail goes to the relay without a claim when it has room, and waits in the queue otherwise; the relay's
 * bookkeeping commits lazily but always commits. In-process: real spool file, real simulator over loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { PolicyRules } from '../../src/policy/rules.js';
import { silentLogger } from '../../src/ops/log.js';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { startDelivery, type Delivery } from '../../src/smpp/start.js';
import { LocalSpool } from '../../src/spool/local.js';
import { SqliteSpool } from '../../src/spool/sqlite.js';
import type { NewSms } from '../../src/spool/types.js';
import { tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function row(recipient: string, text = `to ${recipient}`): NewSms {
  return {
    queueId: `q${recipient}`,
    recipient,
    sourceAddr: '',
    sourceTon: 0,
    sourceNpi: 0,
    text,
    comment: '',
    coding: 'gsm7',
    dataCoding: 0,
    smsCount: 1,
    truncated: false,
    parts: [{ udh: '', body: Buffer.from(text, 'latin1').toString('hex'), units: text.length, payload: false }],
    messageId: null,
    smtpUser: null,
    mailFrom: null,
    clientIp: null,
    fingerprint: `fp-${recipient}-${text}`,
    state: 'queued',
    reason: null,
  };
}

/** A spool that counts claims, so a test can tell a taken row from a claimed one. */
class CountingSpool extends LocalSpool {
  claims = 0;
  override claim: LocalSpool['claim'] = (limit, now) => {
    this.claims++;
    return this.store.batch(() => this.store.claim(limit, now));
  };
}

async function setup(simulatorUp = true, window = 4) {
  const sim = new SmscSimulator();
  const port = await sim.listen();
  if (!simulatorUp) await sim.close();
  else cleanups.push(() => sim.close());
  const dir = tempDir();
  const config = parseConfig(testConfig(port, dir, { smpp: { window } }));
  const store = new SqliteSpool(config.spool.path);
  const spool = new CountingSpool(store);
  const delivery: Delivery = startDelivery(config, silentLogger(), spool);
  cleanups.push(async () => {
    await delivery.stop(1000);
    store.close();
  });
  return { sim, port, store, spool, delivery };
}

const stateOf = (store: SqliteSpool, id: number) => store.byId(id)?.state;

describe('fresh mail and the relay', () => {
  it('an idle relay takes fresh rows at once: stored as sending (attempt 1), sent and delivered without a claim', async () => {
    const { sim, store, spool, delivery } = await setup();
    await waitFor(() => delivery.relay.take(0), 5000, 'relay drained and bound');
    const claimsBefore = spool.claims;
    const [o] = await delivery.accept([row('79990000001')], Date.now());
    expect(o).toEqual({ kind: 'queued', id: expect.any(Number) });
    const id = (o as { id: number }).id;
    // Committed as taken before the relay even started on it.
    expect(store.byId(id)?.attempts).toBe(1);
    expect(['sending', 'submitted', 'delivered']).toContain(stateOf(store, id));
    await waitFor(() => stateOf(store, id) === 'delivered', 5000, 'delivered');
    expect(sim.received.map((s) => s.text)).toEqual(['to 79990000001']);
    expect(spool.claims).toBe(claimsBefore);
  });

  it('with no bind up nothing is taken: rows wait queued and go out when the SMSC comes up', async () => {
    const { port, store, delivery } = await setup(false);
    expect(delivery.relay.take(1)).toBe(false);
    const [o] = await delivery.accept([row('79990000002')], Date.now());
    const id = (o as { id: number }).id;
    expect(stateOf(store, id)).toBe('queued');
    expect(store.byId(id)?.attempts).toBe(0);
    const sim = new SmscSimulator();
    await sim.listen(port);
    cleanups.push(() => sim.close());
    await waitFor(() => stateOf(store, id) === 'delivered', 10_000, 'delivered after the SMSC came up');
    expect(sim.received).toHaveLength(1);
  });

  it('more fresh rows than the window: the rest are queued, claimed in order, and every one is sent once', async () => {
    const { sim, store, delivery } = await setup(true, 2);
    await waitFor(() => delivery.relay.take(0), 5000, 'relay drained and bound');
    const now = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => delivery.accept([row(`7999000010${String(i).padStart(2, '0')}`)], now)));
    const ids = outcomes.map((o) => (o[0] as { id: number }).id);
    const states = ids.map((id) => store.byId(id)!);
    // The window is 2: a handful taken at once, the rest left in the queue for the relay to claim.
    expect(states.filter((r) => r.attempts === 1).length).toBeLessThanOrEqual(2);
    expect(states.some((r) => r.state === 'queued')).toBe(true);
    await waitFor(() => ids.every((id) => stateOf(store, id) === 'delivered'), 10_000, 'all delivered');
    const sent = sim.received.map((s) => s.text);
    expect(sent).toHaveLength(12);
    expect(new Set(sent).size).toBe(12);
  });

  it('refused recipients are not handed over; the room held for them is given back', async () => {
    const { sim, store, delivery } = await setup(true, 2);
    await waitFor(() => delivery.relay.take(0), 5000, 'relay drained and bound');
    const rules: PolicyRules = { duplicateWindowMs: 60_000, duplicateAction: 'reject', retransmitWindowMs: 0, floodMax: 50, floodGapMs: 30_000 };
    const first = await delivery.accept([row('79990000201', 'same text')], Date.now(), rules);
    await waitFor(() => stateOf(store, (first[0] as { id: number }).id) === 'delivered', 5000, 'first delivered');
    const again = await delivery.accept([row('79990000201', 'same text')], Date.now(), rules);
    expect(again[0]?.kind).toBe('duplicate');
    // The window of 2 is free again: two fresh rows are taken at once.
    await waitFor(() => delivery.relay.take(2), 5000, 'room given back');
    delivery.relay.adopt([], 2);
    expect(sim.received).toHaveLength(1);
  });
});

describe('lazy writes', () => {
  it('commit on their own within a few milliseconds, and ride on an eager commit when one comes first', async () => {
    const dir = tempDir();
    const store = new SqliteSpool(`${dir}/spool.sqlite`);
    cleanups.push(() => store.close());
    const reader = new SqliteSpool(`${dir}/spool.sqlite`);
    cleanups.push(() => reader.close());
    const [id] = store.accept([row('79990000301')], 0);
    const lazy = store.batch(() => store.finish(id!, 'failed', 'lazy', 1), true);
    // Not committed yet: a second connection still sees the old state.
    expect(reader.byId(id!)?.state).toBe('queued');
    await lazy;
    expect(reader.byId(id!)?.state).toBe('failed');

    const [id2] = store.accept([row('79990000302')], 0);
    const lazy2 = store.batch(() => store.finish(id2!, 'failed', 'lazy', 1), true);
    let eagerDone = false;
    await store.batch(() => undefined).then(() => (eagerDone = true));
    // The eager commit carried the lazy write with it.
    expect(eagerDone).toBe(true);
    expect(reader.byId(id2!)?.state).toBe('failed');
    await lazy2;
  });
});
