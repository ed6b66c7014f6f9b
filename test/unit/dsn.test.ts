/** Which report a recipient's row calls for (src/outbox/plan.ts over src/delivery/dsn.ts): pure, facts in. */
import { describe, expect, it } from 'vitest';
import { mayReportTo, parseNotify, wantsReport } from '../../src/delivery/dsn.js';
import { planReport, type DsnCandidate, type ReportRules } from '../../src/outbox/plan.js';

const rules: ReportRules = {
  defaultNotify: ['failure'],
  delayAfterMs: 10_000,
  relayedAfterMs: 5_000,
  receiptsRequested: true,
};
const row = (over: Partial<DsnCandidate> = {}): DsnCandidate => ({
  id: 1,
  queueId: 'Q1',
  recipient: '4917',
  state: 'queued',
  reason: null,
  text: 'disk full',
  smsCount: 1,
  messageId: '<m@x>',
  mailFrom: 'alice@example.org',
  createdAt: 0,
  updatedAt: 2,
  firstSubmitAt: 1,
  notify: null,
  orcpt: null,
  rcptAddress: '4917@sms.example',
  reportState: 'pending',
  envid: null,
  ret: null,
  subject: 'S',
  autoSubmitted: null,
  headers: 'Subject: S\r\n',
  rawBase64: null,
  ...over,
});

const NOTIFY = [null, 'NEVER', 'SUCCESS', 'FAILURE', 'DELAY', 'SUCCESS,FAILURE,DELAY'] as const;
/** Final state (with a receipt reason where one comes) → the action its report has. */
const FINAL: [string, string | null, string | undefined][] = [
  ['delivered', 'stat:DELIVRD err:000', 'delivered'],
  ['undeliverable', 'stat:UNDELIV err:001', 'failed'],
  ['failed', 'SMSC refused: 0x45', 'failed'],
  ['expired', 'stat:EXPIRED err:000', 'failed'],
  ['cancelled', 'cancelled on the web page', 'failed'],
  ['refused', 'duplicate', undefined],
];
const asks = (notify: string | null, action: string): boolean => {
  if (notify === 'NEVER') return false;
  const kinds = notify === null ? ['failure'] : notify.toLowerCase().split(',');
  const kind = action === 'delivered' || action === 'relayed' ? 'success' : action === 'failed' ? 'failure' : 'delay';
  return kinds.includes(kind);
};

describe('planReport: every NOTIFY × every final state', () => {
  for (const notify of NOTIFY)
    for (const [state, reason, action] of FINAL)
      it(`NOTIFY=${notify ?? '(none)'} ${state}`, () => {
        const plan = planReport(row({ state, reason, notify }), rules, 100_000);
        if (action && asks(notify, action))
          expect(plan).toMatchObject({ kind: 'report', next: 'done', facts: { action } });
        else expect(plan).toEqual({ kind: 'skip', next: 'done' });
      });

  for (const notify of NOTIFY) {
    it(`NOTIFY=${notify ?? '(none)'}: relayed after relayed_after_s once submitted, delayed once while queued`, () => {
      const submitted = row({ state: 'submitted', notify, firstSubmitAt: 1_000 });
      expect(planReport(submitted, rules, 5_999)).toEqual({ kind: 'wait' });
      const relayed = planReport(submitted, rules, 6_000);
      if (asks(notify, 'relayed'))
        expect(relayed).toMatchObject({ kind: 'report', next: 'done', facts: { action: 'relayed', finalAt: 6_000 } });
      else expect(relayed).toEqual({ kind: 'skip', next: 'done' });
      const queued = row({ state: 'queued', notify, createdAt: 0 });
      expect(planReport(queued, rules, 9_999)).toEqual({ kind: 'wait' });
      const delayed = planReport(queued, rules, 10_000);
      if (asks(notify, 'delayed'))
        expect(delayed).toMatchObject({
          kind: 'report',
          next: 'delayed',
          facts: { action: 'delayed', status: '4.4.1' },
        });
      else expect(delayed).toEqual({ kind: 'skip', next: 'delayed' });
      // Delayed once: a row whose delay step is done waits for its final state.
      expect(planReport({ ...queued, reportState: 'delayed' }, rules, 1e9)).toEqual({ kind: 'wait' });
    });
  }
});

describe('planReport: rules', () => {
  it('without receipts requested a submitted SMS is relayed at once', () => {
    const plan = planReport(
      row({ state: 'submitted', notify: 'SUCCESS', firstSubmitAt: 1_000 }),
      { ...rules, receiptsRequested: false },
      1_000,
    );
    expect(plan).toMatchObject({ kind: 'report', facts: { action: 'relayed' } });
  });

  it('reports.default_notify decides when the client gave no NOTIFY', () => {
    const delivered = row({ state: 'delivered', reason: 'stat:DELIVRD err:000' });
    expect(planReport(delivered, rules, 9).kind).toBe('skip');
    expect(planReport(delivered, { ...rules, defaultNotify: ['success', 'failure'] }, 9).kind).toBe('report');
    expect(planReport(row({ state: 'undeliverable' }), { ...rules, defaultNotify: [] }, 9).kind).toBe('skip');
  });

  it('never a report to <> nor about an Auto-Submitted mail (Auto-Submitted: no is a person)', () => {
    const failed = { state: 'undeliverable', reason: 'stat:UNDELIV err:001', notify: 'FAILURE' };
    for (const over of [{ mailFrom: null }, { mailFrom: '<>' }, { mailFrom: '' }, { autoSubmitted: 'auto-replied' }])
      expect(planReport(row({ ...failed, ...over }), rules, 9)).toEqual({ kind: 'skip', next: 'done' });
    expect(planReport(row({ ...failed, autoSubmitted: 'no' }), rules, 9).kind).toBe('report');
    expect(mayReportTo('a@b', 'auto-generated')).toBe(false);
  });

  it('a failed report carries the receipt, its times and RET=FULL the original', () => {
    const plan = planReport(
      row({ state: 'undeliverable', reason: 'stat:UNDELIV err:001', ret: 'FULL', rawBase64: 'eA==' }),
      rules,
      9,
    );
    expect(plan).toMatchObject({
      kind: 'report',
      facts: {
        to: 'alice@example.org',
        diagnostic: 'smpp; stat:UNDELIV err:001',
        stat: 'UNDELIV',
        err: '001',
        finalAt: 2,
        rawBase64: 'eA==',
      },
    });
  });

  it('parseNotify and wantsReport read the stored words', () => {
    expect(parseNotify('success, delay')).toEqual(['success', 'delay']);
    expect(parseNotify('NEVER')).toBe('never');
    expect(parseNotify('')).toBeNull();
    expect(wantsReport('failed', 'never', ['failure'])).toBe(false);
    expect(wantsReport('relayed', ['success'], [])).toBe(true);
  });
});
