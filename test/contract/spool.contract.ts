/**
 * The spool contract: both drivers run these cases (sqlite.test.ts, postgres.test.ts). Behaviour is
 * seen only through SpoolStore (and LocalSpool above it for the wait for fresh mail), never a backend's tables.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyRules } from '../../src/policy/rules.js';
import { LocalSpool } from '../../src/spool/local.js';
import type { SpoolStore } from '../../src/spool/store.js';
import type { AcceptOutcome, InboundSms, NewSms, ReceiptUpdate } from '../../src/spool/types.js';
import { newSms } from '../helpers/rows.js';

/** A fresh, empty backend; `reopen` closes it and opens the same data again (a restart). */
export interface Backend {
  store: SpoolStore;
  reopen(): Promise<SpoolStore>;
  /** Inbound messages as stored (the contract has no read for them yet: the backend's own read). */
  inbound(): Promise<InboundSms[]>;
}

const rules: PolicyRules = {
  duplicateWindowMs: 60_000,
  duplicateAction: 'reject',
  retransmitWindowMs: 86_400_000,
  floodMax: 50,
  floodGapMs: 30_000,
};

const row = (recipient: string, opts: { parts?: number; text?: string; messageId?: string | null } = {}): NewSms => {
  const text = opts.text ?? 't';
  return newSms(recipient, {
    queueId: `q-${text}`,
    sourceAddr: 'Alerts',
    sourceTon: 5,
    text,
    smsCount: opts.parts ?? 1,
    parts: Array.from({ length: opts.parts ?? 1 }, () => ({ udh: '', body: '74', units: 1, payload: false })),
    messageId: opts.messageId ?? null,
    fingerprint: `${recipient}|Alerts|${text}`,
  });
};
const ids = (o: AcceptOutcome[]) => o.map((x) => (x as { id: number }).id);
const stateOf = (u: ReceiptUpdate | 'early' | 'repeat') => (typeof u === 'string' ? u : u.state);

export function spoolContract(name: string, makeBackend: () => Promise<Backend>): void {
  describe(`spool contract: ${name}`, () => {
    let b: Backend;
    let s: SpoolStore;
    const byId = async (id: number) => (await s.byId(id))!;
    const submitted = (id: number, part: number, smscId: string, now: number, last = false) =>
      s.record([{ op: 'submitted', id, part, smscId, last, now }]);
    beforeEach(async () => {
      b = await makeBackend();
      s = b.store;
    });
    afterEach(async () => {
      await s.close();
    });

    describe('claims, outcomes, counts', () => {
      it('claim takes due rows in order, marks them sending and counts the attempt', async () => {
        await s.accept([row('1'), row('2'), row('3')], 100);
        // Outcomes are written by the claim's owner: row 1 is claimed, then put back for later.
        expect((await s.claim(1, 100)).map((r) => r.id)).toEqual([1]);
        await s.record([{ op: 'reschedule', id: 1, reason: 'later', nextAt: 500, now: 100, countAttempt: false }]);
        const claimed = await s.claim(10, 200);
        expect(claimed.map((r) => [r.id, r.state, r.attempts])).toEqual([
          [2, 'sending', 1],
          [3, 'sending', 1],
        ]);
        expect(await s.claim(10, 200)).toEqual([]);
        expect(await s.nextDue()).toBe(500);
        expect(await s.pendingCount()).toBe(3);
        expect(await s.oldestQueuedAt()).toBe(100);
      });

      it('a row stored sending is the relay’s first attempt', async () => {
        const [id] = ids(await s.accept([{ ...row('1'), state: 'sending' }], 0));
        expect([(await byId(id!)).state, (await byId(id!)).attempts]).toEqual(['sending', 1]);
        expect(await s.claim(10, 0)).toEqual([]);
      });

      it('writable: a store that takes writes says so (a real write, committed)', async () => {
        expect(await s.writable(1)).toEqual({ writable: true });
        await s.accept([row('1')], 2);
        expect(await s.writable(3)).toEqual({ writable: true });
        expect(await s.pendingCount()).toBe(1);
      });

      it('after a crash, sending rows go back to queued', async () => {
        await s.accept([row('1')], 0);
        await s.claim(1, 0);
        expect(await s.requeueSending(10)).toBe(1);
        expect((await byId(1)).state).toBe('queued');
        expect(await s.nextDue()).toBe(10);
      });

      it('reschedule whole with new parts forgets earlier ids; finish; expire; prune', async () => {
        await s.accept([row('1', { parts: 2 }), row('2'), row('3')], 0);
        await s.claim(3, 0);
        await submitted(1, 0, 'x1', 1);
        const parts = [
          { udh: '050003070201', body: '61', units: 1, payload: false },
          { udh: '050003070202', body: '62', units: 1, payload: false },
        ];
        await s.record([{ op: 'reschedule', id: 1, reason: 'again', nextAt: 10, now: 5, parts }]);
        const r1 = await byId(1);
        expect([r1.state, r1.smscIds, r1.firstSubmitAt, r1.parts[0]!.udh]).toEqual([
          'queued',
          [null, null],
          null,
          '050003070201',
        ]);
        await s.record([{ op: 'finish', id: 2, state: 'failed', reason: 'SMSC refused', now: 6 }]);
        expect(await s.expireQueued(1, 7, 'too old')).toBe(1);
        expect(await s.countsByState()).toEqual({ expired: 1, failed: 1, sending: 1 });
        expect(await s.prune(6)).toBe(0);
        expect(await s.prune(8)).toBe(2);
        expect(await s.countsByState()).toEqual({ sending: 1 });
      });

      it('a reschedule that does not count the attempt gives it back; outcomes of one call apply in order', async () => {
        await s.accept([row('1', { parts: 2 })], 0);
        await s.claim(1, 0);
        await s.record([{ op: 'reschedule', id: 1, reason: 'throttled', nextAt: 1, now: 1, countAttempt: false }]);
        expect([(await byId(1)).attempts, (await byId(1)).state]).toEqual([0, 'queued']);
        await s.claim(1, 1);
        await s.record([
          { op: 'submitted', id: 1, part: 0, smscId: 'z1', last: false, now: 2 },
          { op: 'finish', id: 1, state: 'failed', reason: 'gave up', now: 2 },
        ]);
        const r = await byId(1);
        expect([r.attempts, r.state, r.reason, r.smscIds]).toEqual([1, 'failed', 'gave up', ['z1', null]]);
      });

      it('byQueueId lists a mail’s rows in order', async () => {
        await s.accept([row('1', { text: 'a' }), row('2', { text: 'a' })], 0);
        expect((await s.byQueueId('q-a')).map((r) => r.recipient)).toEqual(['1', '2']);
      });

      it('inbound messages are kept', async () => {
        await s.storeInbound({ sourceAddr: '7999', destinationAddr: 'Alerts', dataCoding: 8, text: 'ok' }, 1);
        expect(await b.inbound()).toEqual([
          { sourceAddr: '7999', destinationAddr: 'Alerts', dataCoding: 8, text: 'ok' },
        ]);
      });
    });

    describe('receipts', () => {
      it('parts, receipts through another id form, aggregation, no reopening a final state', async () => {
        await s.accept([row('1', { parts: 2 })], 0);
        await s.claim(1, 0);
        await submitted(1, 0, '00A1', 1);
        await submitted(1, 1, '00A2', 2, true);
        expect((await byId(1)).firstSubmitAt).toBe(1);
        expect((await byId(1)).state).toBe('submitted');
        expect(stateOf(await s.applyReceipt('161', 'DELIVRD', '000', 4))).toBe('submitted');
        expect(stateOf(await s.applyReceipt('a2', 'DELIVRD', '000', 5))).toBe('delivered');
        expect(stateOf(await s.applyReceipt('A2', 'UNDELIV', '001', 6))).toBe('repeat');
        expect((await byId(1)).receipts).toEqual(['DELIVRD', 'DELIVRD']);
        expect(await s.applyReceipt('ffff', 'DELIVRD', undefined, 7)).toBe('early');
      });

      it("each part's latest receipt time and err are kept (the timeline); a whole resend forgets them", async () => {
        await s.accept([row('1', { parts: 2 })], 0);
        await s.claim(1, 0);
        await submitted(1, 0, 'b1', 1);
        expect((await byId(1)).receiptFacts).toEqual([]);
        await s.applyReceipt('b1', 'ENROUTE', undefined, 3);
        await s.applyReceipt('b1', 'UNDELIV', '001', 4);
        expect((await byId(1)).receiptFacts).toEqual([{ at: 4, err: '001' }]);
        const parts = [
          { udh: '050003070201', body: '61', units: 1, payload: false },
          { udh: '050003070202', body: '62', units: 1, payload: false },
        ];
        await s.record([{ op: 'reschedule', id: 1, reason: 'again', nextAt: 10, now: 5, parts }]);
        expect((await byId(1)).receiptFacts).toEqual([]);
        // A receipt that overtook its submit_sm_resp keeps the time it came, not the time it was applied.
        await s.claim(1, 10);
        expect(await s.applyReceipt('c2', 'DELIVRD', '000', 11)).toBe('early');
        await submitted(1, 0, 'c1', 11);
        await submitted(1, 1, 'c2', 12, true);
        await s.applyReceipt('c1', 'DELIVRD', '000', 13);
        s = await b.reopen();
        const r = await byId(1);
        expect([r.state, r.receiptFacts]).toEqual([
          'delivered',
          [
            { at: 13, err: '000' },
            { at: 11, err: '000' },
          ],
        ]);
      });

      it('a lost part makes the recipient undeliverable, with the stat as reason', async () => {
        await s.accept([row('1', { parts: 2 })], 0);
        await s.claim(1, 0);
        await submitted(1, 0, '7', 1);
        await submitted(1, 1, '8', 2, true);
        expect(stateOf(await s.applyReceipt('8', 'UNDELIV', '001', 3))).toBe('undeliverable');
        expect((await byId(1)).reason).toBe('receipt stat:UNDELIV err:001');
      });

      it('a receipt that overtakes its submit_sm_resp is applied when the id is recorded', async () => {
        await s.accept([row('1')], 0);
        await s.claim(1, 0);
        expect(await s.applyReceipt('0000B', 'DELIVRD', '000', 1)).toBe('early');
        await submitted(1, 0, '11', 2, true); // decimal 11 = hex b
        expect((await byId(1)).receipts).toEqual(['DELIVRD']);
        expect((await byId(1)).state).toBe('delivered');
      });

      it('an exact id wins over another message whose id reads the same in the other base', async () => {
        await s.accept([row('1'), row('2')], 0);
        await s.claim(2, 0);
        await submitted(1, 0, '100', 1, true); // decimal 100 is also hex "64"
        await submitted(2, 0, '64', 1, true);
        expect(((await s.applyReceipt('64', 'DELIVRD', undefined, 2)) as ReceiptUpdate).id).toBe(2);
        expect(((await s.applyReceipt('100', 'DELIVRD', undefined, 2)) as ReceiptUpdate).id).toBe(1);
      });

      // Issue 22: a receipt that overtook its submit_sm_resp, in whatever form it writes the id, must wait for its
      // own part and not be used up on an older row whose id reads the same in another form.
      for (const c of [
        { form: 'the same form (decimal ids)', own: '16', receipt: '16', older: ['10', '22'] },
        { form: 'upper case and leading zeros', own: 'a1', receipt: '00000000A1', older: ['161', '161'] },
        { form: 'the other base', own: 'b', receipt: '11', older: ['11', '17'] },
      ]) {
        it(`an early receipt in ${c.form} waits for its own part; older rows with colliding forms keep theirs`, async () => {
          const older = c.older.map((_, i) => row(`700${i}`, { text: `old${i}` }));
          await s.accept([...older, row('7999', { text: 'new' })], 0);
          const newId = older.length + 1;
          // The older rows: the first is delivered (final), the others still wait for their receipt.
          await s.claim(older.length, 0);
          for (const [i, id] of c.older.entries()) {
            await submitted(i + 1, 0, id, 1, true);
            if (i === 0) expect(stateOf(await s.applyReceipt(id, 'DELIVRD', '000', 2))).toBe('delivered');
          }
          const before = await Promise.all(c.older.map((_, i) => byId(i + 1)));
          // The new row is being sent; its receipt overtakes the submit_sm_resp.
          expect((await s.claim(1, 3)).map((r) => r.id)).toEqual([newId]);
          expect(await s.applyReceipt(c.receipt, 'DELIVRD', '000', 4)).toBe('early');
          await submitted(newId, 0, c.own, 5, true);
          const mine = await byId(newId);
          expect([mine.state, mine.receipts]).toEqual(['delivered', ['DELIVRD']]);
          for (const [i, was] of before.entries()) {
            const now = await byId(i + 1);
            expect([now.state, now.receipts, now.updatedAt]).toEqual([was.state, was.receipts, was.updatedAt]);
          }
        });
      }

      it('an early receipt under another form goes to an open older row only once no exact form can come', async () => {
        await s.accept([row('7001', { text: 'a' }), row('7002', { text: 'b' })], 0);
        await s.claim(1, 0);
        await submitted(1, 0, 'a1', 1, true);
        await s.claim(1, 2); // row 2 is being sent: its submit_sm_resp may still say "161"
        expect(await s.applyReceipt('161', 'DELIVRD', '000', 10)).toBe('early');
        expect(await s.resolveEarlyReceipts(10, 11)).toEqual([]); // kept at 10: not before 10
        expect((await byId(1)).state).toBe('submitted');
        // Past the response timeout every submit in flight at 10 has its answer: "161" is row 1's "a1".
        const done = await s.resolveEarlyReceipts(11, 12);
        expect(done.map((u) => [u.id, u.state])).toEqual([[1, 'delivered']]);
        expect((await byId(1)).receiptFacts).toEqual([{ at: 10, err: '000' }]);
        expect(await s.resolveEarlyReceipts(20, 21)).toEqual([]);
        await submitted(2, 0, '161', 13, true); // the kept receipt was used up: row 2 waits for its own
        expect((await byId(2)).state).toBe('submitted');
      });

      it("a row older than the receipt's own submit date (in any time zone) is never its part", async () => {
        const day = 86_400_000;
        await s.accept([row('7001')], 0);
        await s.claim(1, 0);
        await submitted(1, 0, 'a1', 1, true);
        // Nothing in flight, but the receipt was submitted two days after row 1: another message's.
        expect(await s.applyReceipt('161', 'DELIVRD', '000', 2 * day, 2 * day)).toBe('early');
        expect((await byId(1)).state).toBe('submitted');
        // Within a time zone's offset it may be row 1's.
        expect(stateOf(await s.applyReceipt('161', 'DELIVRD', '000', 2 * day, 1 + 14 * 3_600_000))).toBe('delivered');
      });

      it('a receipt for a settled part is a repeat; while a submit is in flight it may be a reused id', async () => {
        await s.accept([row('7001', { text: 'a' }), row('7002', { text: 'b' })], 0);
        await s.claim(1, 0);
        await submitted(1, 0, '42', 1, true);
        expect(stateOf(await s.applyReceipt('42', 'DELIVRD', '000', 2))).toBe('delivered');
        expect(await s.applyReceipt('42', 'DELIVRD', '000', 3)).toBe('repeat');
        await s.claim(1, 4);
        // The SMSC restarted its numbering: row 2 is given "42" again, and its receipt overtakes the resp.
        expect(await s.applyReceipt('42', 'UNDELIV', '001', 5)).toBe('early');
        await submitted(2, 0, '42', 6, true);
        expect([(await byId(2)).state, (await byId(1)).state]).toEqual(['undeliverable', 'delivered']);
        // A repeat kept while something was in flight is dropped once its exact id can no longer come.
        await s.accept([row('7003', { text: 'c' })], 7);
        await s.claim(1, 7);
        expect(await s.applyReceipt('42', 'UNDELIV', '001', 8)).toBe('early');
        expect(await s.resolveEarlyReceipts(9, 9)).toEqual([]);
        await submitted(3, 0, '42', 10, true);
        expect((await byId(3)).state).toBe('submitted');
      });

      it('a late receipt for an id of an abandoned attempt settles nothing of the attempt sent again whole', async () => {
        await s.accept([row('7001', { parts: 2 })], 0);
        await s.claim(1, 0);
        await submitted(1, 0, 'd1', 1);
        const parts = [
          { udh: '050003080201', body: '61', units: 1, payload: false },
          { udh: '050003080202', body: '62', units: 1, payload: false },
        ];
        await s.record([{ op: 'reschedule', id: 1, reason: 'composite window', nextAt: 2, now: 2, parts }]);
        await s.claim(1, 2);
        await submitted(1, 0, 'e1', 3);
        await submitted(1, 1, 'e2', 4, true);
        expect(await s.applyReceipt('d1', 'DELIVRD', '000', 5)).toBe('early');
        expect((await byId(1)).receipts).toEqual([null, null]);
      });

      it('a burst whose receipts all overtake their submit_sm_resp leaves nothing submitted', async () => {
        // Decimal ids 1…n, as a simple SMSC numbers them: many read as another id in hex (16 → "10").
        const n = 60;
        await s.accept(
          Array.from({ length: n }, (_, i) => row(`79${i}`, { text: `m${i}` })),
          0,
        );
        let t = 1;
        for (let batch = 0; batch < n; batch += 10) {
          const claimed = await s.claim(10, t++);
          // Each receipt comes before its own submit_sm_resp; the resps come in order, after all the receipts.
          for (const r of claimed) expect(await s.applyReceipt(String(r.id), 'DELIVRD', '000', t++)).toBe('early');
          for (const r of claimed) await submitted(r.id, 0, String(r.id), t++, true);
        }
        expect(await s.countsByState()).toEqual({ delivered: n });
        for (let id = 1; id <= n; id++) expect((await byId(id)).receipts).toEqual(['DELIVRD']);
      });

      it('an id the SMSC gave twice settles the latest part given it', async () => {
        await s.accept([row('1'), row('2')], 0);
        await s.claim(2, 0);
        await submitted(1, 0, 'abc', 1, true);
        await submitted(2, 0, 'ABC', 1, true);
        expect(((await s.applyReceipt('abc', 'DELIVRD', undefined, 2)) as ReceiptUpdate).id).toBe(2);
        expect((await byId(1)).state).toBe('submitted');
      });
    });

    describe('the provider’s rules at acceptance', () => {
      it('duplicate: 59.999 s refused and stored as refused; 60 s queued; state read back after a restart', async () => {
        expect(await s.accept([row('7999', { text: 'disk full' })], 0, rules)).toEqual([
          { kind: 'queued', id: expect.any(Number) },
        ]);
        s = await b.reopen();
        expect(await s.accept([row('7999', { text: 'disk full' })], 59_999, rules)).toEqual([
          { kind: 'duplicate', ageMs: 59_999, dropped: false },
        ]);
        expect(await s.countsByState()).toEqual({ queued: 1, refused: 1 });
        // A refused duplicate does not restart the window.
        expect(await s.accept([row('7999', { text: 'disk full' })], 60_000, rules)).toEqual([
          { kind: 'queued', id: expect.any(Number) },
        ]);
        // Another recipient, sender or text is not a duplicate.
        const other = await s.accept(
          [row('7998', { text: 'disk full' }), row('7999', { text: 'disk ok' })],
          60_001,
          rules,
        );
        expect(other.map((o) => o.kind)).toEqual(['queued', 'queued']);
      });

      it('duplicate drop: stored as refused, reported as dropped', async () => {
        await s.accept([row('7999', { text: 'x' })], 0, rules);
        expect(await s.accept([row('7999', { text: 'x' })], 1, { ...rules, duplicateAction: 'drop' })).toEqual([
          { kind: 'duplicate', ageMs: 1, dropped: true },
        ]);
        expect((await s.byQueueId('q-x'))[1]!.reason).toBe('duplicate of an SMS accepted 0 s ago (dropped)');
      });

      it('two rows of one call see each other', async () => {
        const o = await s.accept([row('7999', { text: 'x' }), row('7999', { text: 'x' })], 0, rules);
        expect(o.map((x) => x.kind)).toEqual(['queued', 'duplicate']);
      });

      it('retransmission: the same Message-ID to the same recipient within the window, even after a restart', async () => {
        await s.accept([row('7999', { text: 'a', messageId: '<m1@x>' })], 0, rules);
        s = await b.reopen();
        expect(await s.accept([row('7999', { text: 'a', messageId: '<m1@x>' })], 10 * 60_000, rules)).toEqual([
          { kind: 'retransmission', queueId: 'q-a', smsCount: 1, coding: 'gsm7' },
        ]);
        expect((await s.accept([row('7998', { text: 'a', messageId: '<m1@x>' })], 10 * 60_000, rules))[0]!.kind).toBe(
          'queued',
        );
        expect((await s.accept([row('7999', { text: 'b', messageId: '<m1@x>' })], 86_400_000, rules))[0]!.kind).toBe(
          'queued',
        );
      });

      it('flood: 50 messages 1 s apart, a restart, then the 51st is refused; after 30 s quiet it is allowed', async () => {
        for (let i = 0; i < 50; i++)
          expect((await s.accept([row('7999', { text: `m${i}` })], i * 1000, rules))[0]!.kind).toBe('queued');
        s = await b.reopen();
        expect(await s.recentAccepted('7999', 50)).toHaveLength(50);
        expect(await s.accept([row('7999', { text: 'm50' })], 50_000, rules)).toEqual([{ kind: 'flood' }]);
        expect(await s.countsByState()).toEqual({ queued: 50 });
        expect((await s.accept([row('7999', { text: 'm50' })], 49_000 + 30_000, rules))[0]!.kind).toBe('queued');
        expect(await s.acceptedSince(79_000)).toEqual([['7999', 79_000]]);
      });

      it('0 disables each rule', async () => {
        const off = { ...rules, duplicateWindowMs: 0, floodMax: 0, retransmitWindowMs: 0 };
        for (let i = 0; i < 60; i++) {
          expect((await s.accept([row('7999', { text: 'same', messageId: '<same@x>' })], i, off))[0]!.kind).toBe(
            'queued',
          );
        }
      });
    });

    describe('the wait for fresh mail (LocalSpool over the store)', () => {
      it('a waiting claim is handed the fresh rows, stored sending (attempt 1); a due row is claimed at once', async () => {
        const spool = new LocalSpool(s);
        const [queued] = ids(await spool.accept([row('1')], 0));
        expect((await spool.claim(10, 1, 1000)).map((r) => r.id)).toEqual([queued]);
        const waiting = spool.claim(10, 2, 5000);
        const [a, c] = await Promise.all([spool.accept([row('2')], 3), spool.accept([row('3')], 3)]);
        // Both, in either order: concurrent accepts on separate connections (PostgreSQL) commit in either order.
        const handed = (await waiting).map((r) => [r.id, r.state, r.attempts]);
        expect(handed.sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual(
          [ids(a)[0]!, ids(c)[0]!].sort((x, y) => x - y).map((id) => [id, 'sending', 1]),
        );
        expect((await byId(ids(a)[0]!)).state).toBe('sending');
      });

      it('stopWaiting ends a wait with nothing', async () => {
        const spool = new LocalSpool(s);
        const waiting = spool.claim(10, 0, 10_000);
        await spool.stopWaiting();
        expect(await waiting).toEqual([]);
      });
    });

    describe('the web page: list, daily counts, cancel', () => {
      const DAY = 86_400_000;
      const mine = (recipient: string, user: string | null, text: string, comment = ''): NewSms => ({
        ...row(recipient, { text }),
        smtpUser: user,
        comment,
        queueId: `q-${user}-${text}`,
      });
      /** alice: 4 rows over two days (two at the same ms); bob: 1; no AUTH: 1. */
      async function seed(): Promise<void> {
        await s.accept([mine('111', 'alice', 'disk full on db1', 'ticket 42')], DAY + 1000);
        await s.accept([mine('222', 'alice', 'Ошибка: ДИСК'), mine('111', 'alice', 'load high')], DAY + 2000);
        await s.accept([mine('111', 'bob', 'bob secret')], DAY + 3000);
        await s.accept([mine('333', null, 'no auth')], 2 * DAY + 10);
        await s.accept([mine('111', 'alice', '50%_off')], 2 * DAY + 20);
      }
      const texts = (rows: { text: string }[]) => rows.map((r) => r.text);
      const alice = { user: 'alice' } as const;

      it('a user sees only their rows, newest first; all sees every row, including mail without AUTH', async () => {
        await seed();
        expect(texts(await s.listMessages({ scope: alice, limit: 50 }))).toEqual([
          '50%_off',
          'load high',
          'Ошибка: ДИСК',
          'disk full on db1',
        ]);
        expect(texts(await s.listMessages({ scope: { user: 'bob' }, limit: 50 }))).toEqual(['bob secret']);
        expect(texts(await s.listMessages({ scope: { user: 'nobody' }, limit: 50 }))).toEqual([]);
        expect((await s.listMessages({ scope: 'all', limit: 50 })).map((r) => r.smtpUser)).toEqual([
          'alice',
          null,
          'bob',
          'alice',
          'alice',
          'alice',
        ]);
      });

      it('keyset pages: each row once, ties on the same millisecond split by id', async () => {
        await seed();
        const seen: string[] = [];
        let before: { createdAt: number; id: number } | undefined;
        for (;;) {
          const page = await s.listMessages({ scope: 'all', limit: 1, before });
          if (page.length === 0) break;
          seen.push(page[0]!.text);
          before = { createdAt: page[0]!.createdAt, id: page[0]!.id };
        }
        expect(seen).toEqual(texts(await s.listMessages({ scope: 'all', limit: 50 })));
        expect(seen).toHaveLength(6);
      });

      it('filters: state, recipient, date range, text (case-folded beyond ASCII, the comment too, % literal)', async () => {
        await seed();
        const list = (f: Partial<Parameters<SpoolStore['listMessages']>[0]>) =>
          s.listMessages({ scope: alice, limit: 50, ...f });
        await s.claim(1, DAY + 5000);
        expect(texts(await list({ state: 'sending' }))).toEqual(['disk full on db1']);
        expect(texts(await list({ recipient: '222' }))).toEqual(['Ошибка: ДИСК']);
        expect(texts(await list({ since: DAY + 2000, until: 2 * DAY }))).toEqual(['load high', 'Ошибка: ДИСК']);
        expect(texts(await list({ text: 'диск' }))).toEqual(['Ошибка: ДИСК']);
        expect(texts(await list({ text: 'DISK' }))).toEqual(['disk full on db1']);
        expect(texts(await list({ text: 'TICKET 42' }))).toEqual(['disk full on db1']);
        expect(texts(await list({ text: '%' }))).toEqual(['50%_off']);
        expect(texts(await list({ text: 'secret' }))).toEqual([]);
        expect(texts(await list({ recipient: '111', text: 'high' }))).toEqual(['load high']);
      });

      it('daily counts per UTC day, per scope; refused duplicates are not counted', async () => {
        await seed();
        await s.accept([{ ...mine('111', 'alice', 'load high'), state: 'refused', reason: 'duplicate' }], DAY + 2500);
        const [first] = ids(await s.accept([{ ...mine('444', 'alice', 'two parts'), smsCount: 2 }], DAY + 4000));
        await s.claim(100, DAY + 5000); // outcomes are the claim owner's to write
        await s.record([{ op: 'finish', id: first!, state: 'delivered', reason: '', now: DAY + 5000 }]);
        await s.record([
          { op: 'finish', id: 1, state: 'undeliverable', reason: 'receipt stat:UNDELIV err:1', now: DAY + 5000 },
        ]);
        expect(await s.dailyCounts(alice, 0)).toEqual([
          { day: DAY, messages: 4, parts: 5, delivered: 1, failed: 1 },
          { day: 2 * DAY, messages: 1, parts: 1, delivered: 0, failed: 0 },
        ]);
        expect((await s.dailyCounts('all', 2 * DAY)).map((d) => d.messages)).toEqual([2]);
      });

      it('cancel: a queued row of the scope becomes cancelled, is never claimed, and is pruned as final', async () => {
        await seed();
        const [bobs] = await s.listMessages({ scope: { user: 'bob' }, limit: 1 });
        expect(await s.cancelQueued(bobs!.id, alice, 'cancelled by alice', 9)).toEqual({ kind: 'not-found' });
        expect(await s.cancelQueued(999, 'all', 'x', 9)).toEqual({ kind: 'not-found' });
        expect(await s.cancelQueued(1, alice, 'cancelled by alice', 10)).toEqual({ kind: 'cancelled' });
        expect(await s.cancelQueued(1, alice, 'again', 11)).toEqual({ kind: 'too-late', state: 'cancelled' });
        const claimed = await s.claim(10, 3 * DAY);
        expect(claimed.map((r) => r.id)).not.toContain(1);
        // Claimed meanwhile: the relay has it, too late to cancel.
        expect(await s.cancelQueued(claimed[0]!.id, 'all', 'admin', 12)).toEqual({
          kind: 'too-late',
          state: 'sending',
        });
        expect([(await byId(1)).state, (await byId(1)).reason]).toEqual(['cancelled', 'cancelled by alice']);
        expect(await s.prune(100)).toBe(1);
        expect(await s.byId(1)).toBeUndefined();
      });

      it('cancel races a claim: the row is either cancelled or claimed, never both', async () => {
        for (let i = 0; i < 20; i++) await s.accept([row(String(1000 + i))], 0);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => s.cancelQueued(i + 1, 'all', 'race', 1)).concat([]),
        );
        const claimed = await s.claim(20, 1);
        const cancelled = results.flatMap((r, i) => (r.kind === 'cancelled' ? [i + 1] : []));
        expect(cancelled.length + claimed.length).toBe(20);
        expect(claimed.filter((c) => cancelled.includes(c.id))).toEqual([]);
      });
    });
  });
}
