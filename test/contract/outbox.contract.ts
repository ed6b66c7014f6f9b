/**
 * The outbox part of the spool contract (issue 15), run by every backend: reports made from final states exactly
 * once, reply mails, claims with a lease, sent / retry / dropped. Backends that several nodes share (PostgreSQL)
 * also run the two-node cases: two stores sweeping and claiming at the same moment.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboxRow } from '../../src/outbox/facts.js';
import type { ReplySettings, ReportSweep } from '../../src/spool/outbox-contract.js';
import type { SpoolStore } from '../../src/spool/store.js';
import type { NewSms } from '../../src/spool/types.js';
import type { Backend } from './spool.contract.js';
import { newSms } from '../helpers/rows.js';

export interface OutboxBackend extends Backend {
  /** A second store on the same data, as a second node opens it (only for backends several nodes share). */
  another?(): SpoolStore;
}

const sweep: ReportSweep = {
  defaultNotify: ['failure'],
  delayAfterMs: 10_000,
  relayedAfterMs: 5_000,
  receiptsRequested: true,
  capPerHour: 0,
};
const replies: ReplySettings = { windowMs: 3_600_000, defaultTo: null, domain: 'sms.example' };

const mailRow = (recipient: string, opts: { notify?: string | null; from?: string; text?: string } = {}): NewSms => {
  const text = opts.text ?? `t${recipient}`;
  return newSms(recipient, {
    queueId: `q-${text}`,
    sourceAddr: '4915100',
    sourceTon: 1,
    sourceNpi: 1,
    text,
    parts: [{ udh: '', body: '74', units: 1, payload: false }],
    messageId: `<${text}@mail.example>`,
    mailFrom: opts.from ?? 'alice@example.org',
    fingerprint: `${recipient}|4915100|${text}`,
    dsn: {
      rcptAddress: `${recipient}@sms.example`,
      notify: opts.notify === undefined ? null : opts.notify,
      orcpt: null,
    },
    mail: {
      ret: 'HDRS',
      envid: 'E1',
      subject: 'Disk full',
      replyTo: null,
      autoSubmitted: null,
      headers: 'Subject: Disk full\r\n',
      rawBase64: null,
    },
  });
};

/** `shared`: several nodes open this backend at once (PostgreSQL); its backend must give `another`. */
export function outboxContract(
  name: string,
  makeBackend: () => Promise<OutboxBackend>,
  opts: { shared?: boolean } = {},
): void {
  describe(`outbox contract: ${name}`, () => {
    let b: OutboxBackend;
    let s: SpoolStore;
    const others: SpoolStore[] = [];
    beforeEach(async () => {
      b = await makeBackend();
      s = b.store;
    });
    afterEach(async () => {
      await Promise.all([s.close(), ...others.splice(0).map((o) => o.close())]);
    });

    /** Accepted at 0, submitted at 1, then settled by a receipt at 2. */
    async function settle(rows: NewSms[], stat: string, err: string): Promise<void> {
      await s.accept(rows, 0);
      const claimed = await s.claim(rows.length, 0);
      await s.record(
        claimed.map((r) => ({ op: 'submitted' as const, id: r.id, part: 0, smscId: `m${r.id}`, last: true, now: 1 })),
      );
      for (const r of claimed) await s.applyReceipt(`m${r.id}`, stat, err, 2);
    }
    const reports = async () => (await s.listOutbox(1000)).filter((r) => r.facts.kind === 'report');

    it('a final state makes its report once: again, after a restart, nothing more', async () => {
      await settle([mailRow('1')], 'UNDELIV', '001');
      expect(await s.reportsDue(3, sweep)).toEqual({ made: 1, capped: 0 });
      expect(await s.reportsDue(4, sweep)).toEqual({ made: 0, capped: 0 });
      s = await b.reopen();
      expect(await s.reportsDue(5, sweep)).toEqual({ made: 0, capped: 0 });
      const [r] = await reports();
      expect(r?.facts).toMatchObject({
        kind: 'report',
        action: 'failed',
        status: '5.1.1',
        to: 'alice@example.org',
        stat: 'UNDELIV',
        err: '001',
      });
      expect(r?.facts).toMatchObject({
        diagnostic: 'X-smpp; stat:UNDELIV err:001',
        envid: 'E1',
        messageId: '<t1@mail.example>',
      });
      expect(await s.outboxCounts()).toEqual({ pending: 1, sent: 0, dropped: 0 });
    });

    it('NOTIFY decides: NEVER, SUCCESS only, default (failures), and no report to <>', async () => {
      await settle(
        [
          mailRow('1', { notify: 'NEVER' }),
          mailRow('2', { notify: 'SUCCESS' }),
          mailRow('3'),
          mailRow('4', { from: '<>' }),
        ],
        'UNDELIV',
        '001',
      );
      expect(await s.reportsDue(3, sweep)).toEqual({ made: 1, capped: 0 });
      expect((await reports()).map((r) => (r.facts.kind === 'report' ? r.facts.recipient : ''))).toEqual(['3']);
      expect(await s.reportsDue(4, sweep)).toEqual({ made: 0, capped: 0 });
    });

    it('delayed once while queued, then the final report; relayed when no receipt comes', async () => {
      await s.accept([mailRow('1', { notify: 'DELAY,FAILURE' }), mailRow('2', { notify: 'SUCCESS' })], 0);
      expect(await s.reportsDue(9_999, sweep)).toEqual({ made: 0, capped: 0 });
      expect(await s.reportsDue(10_000, sweep)).toEqual({ made: 1, capped: 0 });
      expect(await s.reportsDue(20_000, sweep)).toEqual({ made: 0, capped: 0 });
      await s.claim(2, 20_000);
      await s.record([
        { op: 'submitted', id: 1, part: 0, smscId: 'a', last: true, now: 20_001 },
        { op: 'submitted', id: 2, part: 0, smscId: 'b', last: true, now: 20_001 },
      ]);
      await s.applyReceipt('a', 'EXPIRED', '000', 20_002);
      expect(await s.reportsDue(20_003, sweep)).toEqual({ made: 1, capped: 0 });
      expect(await s.reportsDue(25_000, sweep)).toEqual({ made: 0, capped: 0 }); // relayed due at 20_001 + 5_000
      expect(await s.reportsDue(25_001, sweep)).toEqual({ made: 1, capped: 0 });
      await s.applyReceipt('b', 'DELIVRD', '000', 25_002);
      expect(await s.reportsDue(25_003, sweep)).toEqual({ made: 0, capped: 0 });
      const actions = (await reports()).map((r) =>
        r.facts.kind === 'report' ? [r.facts.recipient, r.facts.action] : [],
      );
      expect(actions.reverse()).toEqual([
        ['1', 'delayed'],
        ['1', 'failed'],
        ['2', 'relayed'],
      ]);
    });

    it('the per-sender cap counts reports of the last hour', async () => {
      await settle([mailRow('1'), mailRow('2'), mailRow('3')], 'UNDELIV', '001');
      expect(await s.reportsDue(3, { ...sweep, capPerHour: 2 })).toEqual({ made: 2, capped: 1 });
      expect(await s.reportsDue(4, { ...sweep, capPerHour: 2 })).toEqual({ made: 0, capped: 0 });
    });

    it('claim with a lease; sent is never claimed again', async () => {
      await settle([mailRow('1')], 'UNDELIV', '001');
      await s.reportsDue(3, sweep);
      const [row] = await s.claimOutbox(10, 10, 1_000, 'n1');
      expect([row?.attempts, row?.state]).toEqual([1, 'pending']);
      expect(await s.claimOutbox(10, 1_009, 1_000, 'n2')).toEqual([]);
      const again = await s.claimOutbox(10, 1_010, 1_000, 'n2'); // the lease ran out: n1 died while sending
      expect(again.map((r) => [r.id, r.attempts])).toEqual([[row?.id, 2]]);
      await s.outboxDone(row!.id, { kind: 'sent' }, 1_020);
      expect(await s.claimOutbox(10, 10_000, 1_000, 'n1')).toEqual([]);
      expect(await s.outboxCounts()).toEqual({ pending: 0, sent: 1, dropped: 0 });
    });

    it('a node that restarts while sending takes its own leased rows back at once; others wait out the lease', async () => {
      await settle([mailRow('1')], 'UNDELIV', '001');
      await s.reportsDue(3, sweep);
      const [row] = await s.claimOutbox(10, 10, 360_000, 'n1');
      s = await b.reopen();
      expect(await s.claimOutbox(10, 20, 360_000, 'n1')).toEqual([]);
      expect(await s.releaseOutbox('n2')).toBe(0);
      expect(await s.claimOutbox(10, 20, 360_000, 'n2')).toEqual([]);
      expect(await s.releaseOutbox('n1')).toBe(1);
      const back = await s.claimOutbox(10, 20, 360_000, 'n1');
      expect(back.map((r) => [r.id, r.attempts])).toEqual([[row!.id, 2]]);
    });

    it('retry waits for its time, across a restart, with the error kept; dropped is never claimed', async () => {
      await settle([mailRow('1'), mailRow('2')], 'UNDELIV', '001');
      await s.reportsDue(3, sweep);
      const [a, c] = await s.claimOutbox(10, 10, 60_000, 'n1');
      await s.outboxDone(a!.id, { kind: 'retry', nextAt: 5_000, error: '421 busy' }, 20);
      await s.outboxDone(c!.id, { kind: 'dropped', error: '550 no such user' }, 20);
      s = await b.reopen();
      expect(await s.claimOutbox(10, 4_999, 60_000, 'n1')).toEqual([]);
      const [back] = await s.claimOutbox(10, 5_000, 60_000, 'n1');
      expect([back?.id, back?.attempts, back?.lastError]).toEqual([a!.id, 2, '421 busy']);
      const listed = await s.listOutbox(10);
      expect(listed.map((r) => [r.id, r.state, r.lastError])).toEqual([
        [c!.id, 'dropped', '550 no such user'],
        [a!.id, 'pending', '421 busy'],
      ]);
      expect(await s.outboxCounts()).toEqual({ pending: 1, sent: 0, dropped: 1 });
    });

    it('a reply is mailed to the latest sender to that phone (Reply-To first), else default_to, else kept', async () => {
      await s.accept([{ ...mailRow('4917', { text: 'old' }), mailFrom: 'old@example.org' }], 0);
      const latest = mailRow('4917', { text: 'new' });
      await s.accept([{ ...latest, mail: { ...latest.mail!, replyTo: 'ops@example.org' } }], 10);
      const sms = { sourceAddr: '+4917', destinationAddr: '4915100', dataCoding: 0, text: 'on my way' };
      const mailed = await s.storeReply(sms, 20, replies);
      expect(mailed).toMatchObject({ kind: 'mailed', to: 'ops@example.org', queueId: 'q-new' });
      const [row] = await s.listOutbox(1);
      expect(row?.facts).toMatchObject({
        kind: 'reply',
        from: '4917@sms.example',
        text: 'on my way',
        original: { messageId: '<new@mail.example>' },
      });
      const other = { ...sms, sourceAddr: '4918' };
      expect(await s.storeReply(other, 20, { ...replies, defaultTo: 'desk@example.org' })).toMatchObject({
        kind: 'default',
        to: 'desk@example.org',
      });
      expect(await s.storeReply(other, 20, replies)).toEqual({ kind: 'kept' });
      expect(await s.storeReply(sms, 10 + replies.windowMs + 1, replies)).toEqual({ kind: 'kept' }); // out of the window
      expect((await b.inbound()).map((m) => m.sourceAddr)).toEqual(['4918', '+4917']);
    });

    /** Part `seq` of a `total`-part reply from 4917 (reference 7), its text bytes already off the UDH. */
    const part = (seq: number, total: number, body: Buffer, from = '4917') =>
      ({ from, to: '4915100', ref: 7, total, seq, dataCoding: 8, body }) as const;
    const ucs2 = (t: string) => Buffer.from(t, 'utf16le').swap16();
    const mailing = { replies, systemType: undefined };

    it('reply parts wait in the spool: a restart between them loses none; the last makes one mail of the whole', async () => {
      await s.accept([mailRow('4917', { text: 'disk full' })], 0);
      // Cut between the two halves of a surrogate pair: joined as bytes, it reads as one emoji.
      const bytes = ucs2('ack 👍 on my way');
      expect(await s.storeReplyPart(part(1, 2, bytes.subarray(0, 10)), 10, mailing)).toBeUndefined();
      s = await b.reopen();
      const whole = await s.storeReplyPart(part(2, 2, bytes.subarray(10)), 20, mailing);
      expect(whole).toMatchObject({
        reply: { text: 'ack 👍 on my way', missing: [] },
        outcome: { kind: 'mailed', queueId: 'q-disk full' },
      });
      const mails = (await s.listOutbox(10)).filter((r) => r.facts.kind === 'reply');
      expect(mails.map((r) => (r.facts.kind === 'reply' ? r.facts.text : ''))).toEqual(['ack 👍 on my way']);
      expect(await s.expireReplyParts(1e12, 1, mailing)).toEqual([]); // nothing left waiting
    });

    it('parts that never complete are stored as they are after the timeout, once, gaps marked', async () => {
      const kept = { replies: null, systemType: undefined };
      await s.storeReplyPart(part(3, 3, ucs2('three')), 10, kept);
      await s.storeReplyPart(part(1, 3, ucs2('one')), 20, kept);
      await s.storeReplyPart(part(1, 2, ucs2('other')), 20, kept); // another message: same ref, other total
      expect(await s.expireReplyParts(10 + 999, 1000, kept)).toEqual([]);
      s = await b.reopen();
      const late = await s.expireReplyParts(10 + 1000, 1000, kept);
      expect(late.map((w) => [w.reply.text, w.reply.missing, w.outcome.kind])).toEqual([
        ['one […] three', [2], 'kept'],
      ]);
      expect(await s.expireReplyParts(10 + 1000, 1000, kept)).toEqual([]);
      expect((await b.inbound()).map((m) => m.text)).toEqual(['one […] three']);
      expect(await s.expireReplyParts(20 + 1000, 1000, kept)).toHaveLength(1);
    });

    it("a mail's reports and the replies to it, by queue id (the web page's timeline), oldest first", async () => {
      await settle([mailRow('1'), mailRow('2')], 'UNDELIV', '001');
      await s.reportsDue(3, sweep);
      await s.storeReply({ sourceAddr: '1', destinationAddr: '4915100', dataCoding: 0, text: 'who?' }, 4, replies);
      const about1 = await s.outboxFor('q-t1');
      expect(about1.map((r) => [r.facts.kind, r.facts.kind === 'report' ? r.facts.recipient : r.facts.text])).toEqual([
        ['report', '1'],
        ['reply', 'who?'],
      ]);
      expect((await s.outboxFor('q-t2')).map((r) => r.facts.kind)).toEqual(['report']);
      expect(await s.outboxFor('q-none')).toEqual([]);
    });

    it('prune removes settled outbox rows, keeps pending ones', async () => {
      await settle([mailRow('1'), mailRow('2')], 'UNDELIV', '001');
      await s.reportsDue(3, sweep);
      const [a] = await s.claimOutbox(1, 10, 60_000, 'n1');
      await s.outboxDone(a!.id, { kind: 'sent' }, 20);
      await s.prune(100);
      expect((await s.listOutbox(10)).map((r) => r.state)).toEqual(['pending']);
    });

    it('prune takes a pruned row’s report facts with it: a sweep after it makes nothing for the row', async () => {
      // Final at 2 with a report owed (NOTIFY default: failures); pruned before any sweep made it.
      await settle([mailRow('3')], 'UNDELIV', '001');
      await s.prune(100);
      expect(await s.reportsDue(200, sweep)).toEqual({ made: 0, capped: 0 });
      expect(await s.listOutbox(10)).toEqual([]);
      // The same queue id accepted again later gets its own facts (none of the pruned row's are left to clash).
      await settle([mailRow('3')], 'UNDELIV', '001');
      expect((await s.reportsDue(3, sweep)).made).toBe(1);
    });

    if (opts.shared)
      describe('two nodes at once', () => {
        const second = () => {
          const o = b.another?.();
          if (!o) throw new Error('backend has no second store');
          others.push(o);
          return o;
        };
        it('sweeping together makes each report exactly once', async () => {
          const n = 60;
          await settle(
            Array.from({ length: n }, (_, i) => mailRow(String(1000 + i))),
            'UNDELIV',
            '001',
          );
          const t = second();
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) => (i % 2 ? t : s).reportsDue(3 + i, sweep)),
          );
          expect(results.reduce((sum, r) => sum + r.made, 0)).toBe(n);
          const byRecipient = new Set(
            (await reports()).map((r) => (r.facts.kind === 'report' ? r.facts.recipient : '')),
          );
          expect([byRecipient.size, (await reports()).length]).toEqual([n, n]);
        });

        it('parts of one reply arriving on two nodes at once complete it exactly once', async () => {
          const t = second();
          const n = 20;
          const kept = { replies: null, systemType: undefined };
          const results = await Promise.all(
            Array.from({ length: n }, (_, i) => [
              s.storeReplyPart(part(1, 2, ucs2('a'), `49${i}`), 10, kept),
              t.storeReplyPart(part(2, 2, ucs2('b'), `49${i}`), 10, kept),
            ]).flat(),
          );
          expect(results.filter((r) => r !== undefined).map((r) => r?.reply.text)).toEqual(Array(n).fill('ab'));
          expect(await s.expireReplyParts(1e12, 1, kept)).toEqual([]);
          expect(await b.inbound()).toHaveLength(n);
        });

        it('claiming together never hands one row to both', async () => {
          const n = 60;
          await settle(
            Array.from({ length: n }, (_, i) => mailRow(String(1000 + i))),
            'UNDELIV',
            '001',
          );
          await s.reportsDue(3, sweep);
          const t = second();
          const claims: OutboxRow[][] = await Promise.all(
            Array.from({ length: 12 }, (_, i) => (i % 2 ? t : s).claimOutbox(7, 10, 60_000, i % 2 ? 'n2' : 'n1')),
          );
          const all = claims.flat().map((r) => r.id);
          expect(new Set(all).size).toBe(all.length);
          expect(all.length).toBe(n);
          expect(claims.flat().every((r) => r.attempts === 1)).toBe(true);
        });
      });
  });
}
