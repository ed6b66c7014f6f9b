/** Which report a recipient's row calls for (src/outbox/plan.ts over src/delivery/dsn.ts): pure, facts in. */
import { describe, expect, it } from 'vitest';
import { diagnosticText, mayReportTo, parseNotify, reportFor, wantsReport } from '../../src/delivery/dsn.js';
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
        diagnostic: 'X-smpp; stat:UNDELIV err:001',
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

describe('status and Diagnostic-Code (RFC 3463, RFC 3464: type smtp or X-…)', () => {
  it.each([
    // What the SMSC said: X-smpp, the status from the receipt's err or the submit_sm_resp's command_status.
    ['delivered', 'receipt stat:DELIVRD err:000', 'delivered', '2.0.0', 'X-smpp; stat:DELIVRD err:000'],
    ['undeliverable', 'receipt stat:UNDELIV err:001', 'failed', '5.1.1', 'X-smpp; stat:UNDELIV err:001'],
    ['undeliverable', 'receipt stat:UNDELIV err:006', 'failed', '5.4.1', 'X-smpp; stat:UNDELIV err:006'],
    ['undeliverable', 'receipt stat:REJECTD err:254', 'failed', '5.7.1', 'X-smpp; stat:REJECTD err:254'],
    ['failed', 'SMSC refused: ESME_RINVDSTADR', 'failed', '5.1.1', 'X-smpp; SMSC refused: ESME_RINVDSTADR'],
    ['failed', 'SMSC refused: ESME_RINVDSTTON', 'failed', '5.1.3', 'X-smpp; SMSC refused: ESME_RINVDSTTON'],
    ['failed', 'SMSC refused: ESME_RINVSRCADR', 'failed', '5.1.7', 'X-smpp; SMSC refused: ESME_RINVSRCADR'],
    ['failed', 'SMSC refused: ESME_RINVMSGLEN', 'failed', '5.3.4', 'X-smpp; SMSC refused: ESME_RINVMSGLEN'],
    ['failed', 'SMSC refused: ESME_RSUBMITFAIL', 'failed', '5.0.0', 'X-smpp; SMSC refused: ESME_RSUBMITFAIL'],
    // smpp.status_overrides may make throttling final: the report is failed, so its class is 5.
    ['failed', 'SMSC refused: ESME_RTHROTTLED', 'failed', '5.4.5', 'X-smpp; SMSC refused: ESME_RTHROTTLED'],
    ['failed', 'SMSC refused: 0x00000401', 'failed', '5.0.0', 'X-smpp; SMSC refused: 0x00000401'],
    ['expired', 'receipt stat:EXPIRED err:000', 'failed', '5.4.7', 'X-smpp; stat:EXPIRED err:000'],
    [
      'expired',
      'ESME_RSYSERR; gave up after 5 attempts',
      'failed',
      '5.4.7',
      'X-smpp; ESME_RSYSERR; gave up after 5 attempts',
    ],
    // The gateway's own failures: the SMTP reply it stands for.
    [
      'expired',
      'not sent within spool.max_age_s (60 s)',
      'failed',
      '5.4.7',
      'smtp; 550 5.4.7 not sent within spool.max_age_s (60 s)',
    ],
    [
      'cancelled',
      'cancelled on the web page\r\nby alice',
      'failed',
      '5.0.0',
      'smtp; 550 5.0.0 cancelled on the web page by alice',
    ],
    ['failed', 'PDU could not be built: bad', 'failed', '5.0.0', 'smtp; 550 5.0.0 PDU could not be built: bad'],
  ])('%s, %j → %s %s %j', (state, reason, action, status, diagnostic) => {
    expect(reportFor(state, reason)).toEqual({ action, status, diagnostic });
  });

  it('no diagnostic type other than smtp or X-… (smtp2sms; and smpp; are not registered)', () => {
    for (const [state, reason] of [
      ['delivered', null],
      ['undeliverable', 'receipt stat:UNDELIV err:001'],
      ['failed', 'SMSC refused: ESME_RINVDSTADR'],
      ['cancelled', 'cancelled'],
      ['expired', 'not sent in time'],
    ] as const)
      expect(reportFor(state, reason)?.diagnostic).toMatch(/^(smtp; [245]\d\d [245]\.\d+\.\d+ |X-[A-Za-z0-9-]+; )/);
  });

  it('delayed: 4.x.x; throttling 4.4.5 and a full SMSC queue 4.3.1 say so, else 4.4.1 without a diagnostic', () => {
    const queued = (reason: string | null) =>
      planReport(row({ state: 'queued', reason, notify: 'DELAY' }), rules, 10_000) as { facts?: object };
    expect(queued('ESME_RTHROTTLED').facts).toMatchObject({ status: '4.4.5', diagnostic: 'X-smpp; ESME_RTHROTTLED' });
    expect(queued('ESME_RMSGQFUL').facts).toMatchObject({ status: '4.3.1', diagnostic: 'X-smpp; ESME_RMSGQFUL' });
    expect(queued('ESME_RSYSERR').facts).toMatchObject({ status: '4.4.1', diagnostic: 'X-smpp; ESME_RSYSERR' });
    expect(queued('no SMPP bind is up').facts).toMatchObject({ status: '4.4.1', diagnostic: null });
    expect(queued(null).facts).toMatchObject({ status: '4.4.1', diagnostic: null });
  });

  it("the report's text shows the reason without the diagnostic's type and codes (old rows' too)", () => {
    expect(diagnosticText('smtp; 550 5.4.7 not sent within spool.max_age_s (60 s)')).toBe(
      'not sent within spool.max_age_s (60 s)',
    );
    expect(diagnosticText('X-smpp; SMSC refused: ESME_RINVDSTADR')).toBe('SMSC refused: ESME_RINVDSTADR');
    expect(diagnosticText('smtp2sms; cancelled')).toBe('cancelled');
  });
});
