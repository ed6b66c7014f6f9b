/** The rule that places a receipt on a part (issue 22): pure, facts in, decision out. */
import { describe, expect, it } from 'vitest';
import {
  chooseReceiptTarget,
  type ReceiptCandidate,
  receiptDateMs,
  SUBMIT_DATE_SLACK_MS,
} from '../../src/delivery/receipt-state.js';

const cand = (c: Partial<ReceiptCandidate> & Pick<ReceiptCandidate, 'smsId' | 'seq'>): ReceiptCandidate => ({
  part: 0,
  exact: false,
  state: 'submitted',
  partStat: null,
  submittedAt: 1000,
  ...c,
});
const free = { exactMayCome: false, submitAt: undefined };
const inFlight = { exactMayCome: true, submitAt: undefined };

describe('chooseReceiptTarget', () => {
  it('the latest open part under the exact id wins, even while a submit is in flight', () => {
    const cs = [cand({ smsId: 1, seq: 1, exact: true }), cand({ smsId: 2, seq: 2, exact: true })];
    expect(chooseReceiptTarget(cs, inFlight)).toEqual({ kind: 'part', smsId: 2, part: 0 });
  });

  it('another form waits while the exact form may still come, then takes the latest open part', () => {
    const cs = [cand({ smsId: 1, seq: 1 }), cand({ smsId: 2, seq: 5, part: 1 })];
    expect(chooseReceiptTarget(cs, inFlight)).toEqual({ kind: 'wait' });
    expect(chooseReceiptTarget(cs, free)).toEqual({ kind: 'part', smsId: 2, part: 1 });
  });

  it('parts with their final receipt are never candidates; final rows only under the exact id', () => {
    const settled = [
      cand({ smsId: 1, seq: 1, exact: true, state: 'delivered', partStat: 'DELIVRD' }),
      cand({ smsId: 2, seq: 2, state: 'submitted', partStat: 'UNDELIV' }),
    ];
    expect(chooseReceiptTarget(settled, inFlight)).toEqual({ kind: 'wait' });
    expect(chooseReceiptTarget(settled, free)).toEqual({ kind: 'repeat' });
    // A final row's part still without its receipt (another part's receipt settled the row): exact only.
    const finalRow = cand({ smsId: 3, seq: 3, state: 'undeliverable' });
    expect(chooseReceiptTarget([finalRow], free)).toEqual({ kind: 'wait' });
    expect(chooseReceiptTarget([{ ...finalRow, exact: true }], inFlight)).toEqual({ kind: 'part', smsId: 3, part: 0 });
    // An intermediate receipt (ENROUTE) leaves the part open.
    const open = cand({ smsId: 4, seq: 4, partStat: 'ENROUTE' });
    expect(chooseReceiptTarget([...settled, open], free)).toEqual({ kind: 'part', smsId: 4, part: 0 });
  });

  it("a row submitted before the receipt's own submit date, beyond any time zone, is not its part", () => {
    const submitAt = 10 * 86_400_000;
    const old = cand({ smsId: 1, seq: 1, submittedAt: submitAt - SUBMIT_DATE_SLACK_MS - 1 });
    const near = cand({ smsId: 2, seq: 0, submittedAt: submitAt - SUBMIT_DATE_SLACK_MS });
    expect(chooseReceiptTarget([old], { exactMayCome: false, submitAt })).toEqual({ kind: 'wait' });
    expect(chooseReceiptTarget([old, near], { exactMayCome: false, submitAt })).toEqual({
      kind: 'part',
      smsId: 2,
      part: 0,
    });
  });

  it('no candidate at all: kept', () => {
    expect(chooseReceiptTarget([], free)).toEqual({ kind: 'wait' });
  });
});

describe('receiptDateMs', () => {
  it('reads YYMMDDhhmm and YYMMDDhhmmss as UTC; anything else is no date', () => {
    expect(receiptDateMs('2612070305')).toBe(Date.UTC(2026, 11, 7, 3, 5));
    expect(receiptDateMs('261207030559')).toBe(Date.UTC(2026, 11, 7, 3, 5, 59));
    expect(receiptDateMs('2613070305')).toBeUndefined();
    expect(receiptDateMs('26120703')).toBeUndefined();
    expect(receiptDateMs(undefined)).toBeUndefined();
  });
});
