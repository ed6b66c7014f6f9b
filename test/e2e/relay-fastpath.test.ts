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
import { fromRaw, SqliteSpool, type RawRow } from '../../src/spool/sqlite/store.js';
import type { AcceptOutcome, NewSms, SmsRow } from '../../src/spool/types.js';
import { tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { newSms } from '../helpers/rows.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const row = (recipient: string, text = `to ${recipient}`): NewSms => newSms(recipient, { text });

async function setup(simulatorUp = true, window = 4) {
  const sim = new SmscSimulator();
  const port = await sim.listen();
  if (!simulatorUp) await sim.close();
  else cleanups.push(() => sim.close());
  const dir = tempDir();
  const config = parseConfig(testConfig(port, dir, { smpp: { window } }));
  const store = new SqliteSpool(config.spool.path);
  const spool = new LocalSpool(store);
  const delivery: Delivery = startDelivery(config, silentLogger(), spool);
  cleanups.push(async () => {
    await delivery.stop(1000);
    store.close();
  });
  return { sim, port, store, spool, delivery };
}

/** The row as committed, read synchronously (for waitFor). */
const rowOf = (store: SqliteSpool, id: number) => {
  const raw = store.db.prepare('SELECT * FROM sms WHERE id = ?').get(id) as RawRow | undefined;
  return raw && fromRaw(raw);
};
const stateOf = (store: SqliteSpool, id: number) => rowOf(store, id)?.state;
const idOf = (o: AcceptOutcome[]) => (o[0] as { id: number }).id;
const idOfOne = (o: AcceptOutcome) => (o as { id: number }).id;

describe('fresh mail and the relay', () => {
  it('a relay with room waits in the spool: fresh rows are stored as sending (attempt 1) and handed over, never queued', async () => {
    const { sim, store, spool, delivery } = await setup();
    await waitFor(() => delivery.binds.some((b) => b.canSubmit), 5000, 'bound');
    await new Promise((r) => setTimeout(r, 50));
    const id = idOf(await spool.accept([row('79990000001')], Date.now()));
    // As committed: already taken by the relay, before it even started on it.
    expect(rowOf(store, id)?.attempts).toBe(1);
    expect(['sending', 'submitted', 'delivered']).toContain(stateOf(store, id));
    await waitFor(() => stateOf(store, id) === 'delivered', 5000, 'delivered');
    expect(sim.received.map((s) => s.text)).toEqual(['to 79990000001']);
  });

  it('with no bind up nothing is taken: rows wait queued and go out when the SMSC comes up', async () => {
    const { port, store, spool } = await setup(false);
    const id = idOf(await spool.accept([row('79990000002')], Date.now()));
    expect([stateOf(store, id), rowOf(store, id)?.attempts]).toEqual(['queued', 0]);
    const sim = new SmscSimulator();
    await sim.listen(port);
    cleanups.push(() => sim.close());
    await waitFor(() => stateOf(store, id) === 'delivered', 10_000, 'delivered after the SMSC came up');
    expect(sim.received).toHaveLength(1);
  });

  it('more fresh rows than the room asked for: the rest are queued, claimed, and every one is sent once', async () => {
    const { sim, store, spool, delivery } = await setup(true, 2);
    await waitFor(() => delivery.binds.some((b) => b.canSubmit), 5000, 'bound');
    await new Promise((r) => setTimeout(r, 50));
    const now = Date.now();
    const ids = (
      await Promise.all(
        Array.from({ length: 12 }, (_, i) => spool.accept([row(`7999000010${String(i).padStart(2, '0')}`)], now)),
      )
    ).map(idOf);
    const rows = ids.map((id) => rowOf(store, id)!);
    // The relay asked for room for 4 (2 × window 2): no more were taken at once; the others waited in the queue.
    expect(rows.filter((r) => r.attempts === 1 && r.state !== 'queued').length).toBeLessThanOrEqual(4);
    expect(rows.some((r) => r.state === 'queued' || r.attempts === 0)).toBe(true);
    await waitFor(() => ids.every((id) => stateOf(store, id) === 'delivered'), 10_000, 'all delivered');
    const sent = sim.received.map((s) => s.text);
    expect(sent).toHaveLength(12);
    expect(new Set(sent).size).toBe(12);
  });

  it('a refused recipient is not handed over, and the next fresh mail still is', async () => {
    const { sim, store, spool, delivery } = await setup(true, 2);
    await waitFor(() => delivery.binds.some((b) => b.canSubmit), 5000, 'bound');
    const rules: PolicyRules = {
      duplicateWindowMs: 60_000,
      duplicateAction: 'reject',
      retransmitWindowMs: 0,
      floodMax: 50,
      floodGapMs: 30_000,
    };
    const first = idOf(await spool.accept([row('79990000201', 'same text')], Date.now(), rules));
    await waitFor(() => stateOf(store, first) === 'delivered', 5000, 'first delivered');
    const again = await spool.accept([row('79990000201', 'same text')], Date.now(), rules);
    expect(again[0]?.kind).toBe('duplicate');
    await new Promise((r) => setTimeout(r, 50));
    const next = idOf(await spool.accept([row('79990000202')], Date.now(), rules));
    expect(rowOf(store, next)?.attempts).toBe(1);
    await waitFor(() => stateOf(store, next) === 'delivered', 5000, 'next delivered');
    expect(sim.received.map((s) => s.text)).toEqual(['same text', 'to 79990000202']);
  });
});

describe('a claim that waits (LocalSpool)', () => {
  function local() {
    const store = new SqliteSpool(`${tempDir()}/spool.sqlite`);
    cleanups.push(() => store.close());
    return { store, spool: new LocalSpool(store) };
  }

  it('answers at once when rows are due, else with the fresh rows stored meanwhile', async () => {
    const { spool } = local();
    const queued = idOf(await spool.accept([row('79990000401')], 0));
    expect((await spool.claim(10, 1, 1000)).map((r) => r.id)).toEqual([queued]);
    const waiting = spool.claim(10, 2, 5000);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    const [a, b] = await Promise.all([spool.accept([row('79990000402')], 3), spool.accept([row('79990000403')], 3)]);
    const handed = await waiting;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(handed.map((r) => [r.id, r.state, r.attempts])).toEqual([
      [idOf(a), 'sending', 1],
      [idOf(b), 'sending', 1],
    ]);
  });

  it('ends with nothing after waitMs, when a rescheduled row falls due, or on stopWaiting()', async () => {
    const { spool } = local();
    let t0 = Date.now();
    expect(await spool.claim(10, Date.now(), 100)).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);

    const id = idOf(await spool.accept([row('79990000501')], Date.now()));
    await spool.claim(1, Date.now());
    const waiting = spool.claim(10, Date.now(), 10_000);
    t0 = Date.now();
    await spool.reschedule(id, { reason: 'retry', nextAt: Date.now() + 150, now: Date.now() });
    expect(await waiting).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await spool.claim(10, Date.now())).map((r) => r.id)).toEqual([id]);

    const stopped = spool.claim(10, Date.now(), 10_000);
    t0 = Date.now();
    await spool.stopWaiting();
    expect(await stopped).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('under load, goes on gathering after a hand-over (one batch for the relay); a lone mail or a full room goes at once', async () => {
    const store = new SqliteSpool(`${tempDir()}/spool.sqlite`);
    cleanups.push(() => store.close());
    let now = 1_000_000;
    const spool = new LocalSpool(store, () => now);
    // Promise jobs only: no timer can fire in between, so what is settled here is settled without the gather timer.
    const settle = async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
    };
    const handOver = async (room: number, recipient: string) => {
      let handed: SmsRow[] | undefined;
      const waiting = spool.claim(room, now, 5000).then((rows) => (handed = rows));
      const id = idOf(await spool.accept([row(recipient)], now));
      await settle();
      const atOnce = handed !== undefined;
      await waiting;
      expect(handed?.map((r) => r.id)).toEqual([id]);
      return atOnce;
    };
    expect(await handOver(10, '79990000701')).toBe(true); // the first, nothing before it
    now += 1;
    expect(await handOver(10, '79990000702')).toBe(false); // 1 ms after the last: gathered
    now += 1;
    expect(await handOver(1, '79990000703')).toBe(true); // its room is full
    now += 60_000;
    expect(await handOver(10, '79990000704')).toBe(true); // a minute of quiet: a lone mail
  });

  it('a mail bigger than the room asked for is queued and ends the wait, so it is claimed', async () => {
    const { spool } = local();
    const waiting = spool.claim(1, Date.now(), 10_000);
    const out = await spool.accept([row('79990000601'), row('79990000602')], Date.now());
    expect(await waiting).toEqual([]);
    expect((await spool.claim(10, Date.now())).map((r) => r.id)).toEqual(out.map((o) => (o as { id: number }).id));
  });
});

describe('lazy writes', () => {
  it('commit on their own within a few milliseconds, and ride on an eager commit when one comes first', async () => {
    const dir = tempDir();
    const store = new SqliteSpool(`${dir}/spool.sqlite`);
    cleanups.push(() => store.close());
    const reader = new SqliteSpool(`${dir}/spool.sqlite`);
    cleanups.push(() => reader.close());
    const [id] = (await store.accept([row('79990000301')], 0)).map(idOfOne);
    const lazy = store.record([{ op: 'finish', id: id!, state: 'failed', reason: 'lazy', now: 1 }]);
    // Not committed yet: a second connection still sees the old state.
    expect(rowOf(reader, id!)?.state).toBe('queued');
    await lazy;
    expect(rowOf(reader, id!)?.state).toBe('failed');

    const [id2] = (await store.accept([row('79990000302')], 0)).map(idOfOne);
    const lazy2 = store.record([{ op: 'finish', id: id2!, state: 'failed', reason: 'lazy', now: 1 }]);
    let eagerDone = false;
    await store.batch(() => undefined).then(() => (eagerDone = true));
    // The eager commit carried the lazy write with it.
    expect(eagerDone).toBe(true);
    expect(rowOf(reader, id2!)?.state).toBe('failed');
    await lazy2;
  });
});
