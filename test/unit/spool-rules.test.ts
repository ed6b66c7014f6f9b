/** The backend-neutral rules a spool store applies: acceptance decisions and receipt state (pure, clock passed in). */
import { describe, expect, it } from 'vitest';
import { applyReceiptTo, partOutcome } from '../../src/delivery/receipt-state.js';
import { acceptanceQuery, decideAcceptance, type AcceptanceFacts } from '../../src/policy/acceptance.js';
import type { PolicyRules } from '../../src/policy/rules.js';

const rules: PolicyRules = {
  duplicateWindowMs: 60_000,
  duplicateAction: 'reject',
  retransmitWindowMs: 86_400_000,
  floodMax: 3,
  floodGapMs: 30_000,
};
const none: AcceptanceFacts = { sameMessageId: undefined, recentAccepted: [], lastSameFingerprintAt: undefined };

describe('decideAcceptance', () => {
  it('no facts: store', () => {
    expect(decideAcceptance(none, 1000, rules)).toEqual({ kind: 'store' });
  });

  it('a retransmission wins over flood and duplicate; outside its window it is no retransmission', () => {
    const first = { queueId: 'q1', createdAt: 0, smsCount: 2, coding: 'ucs2' as const };
    const all: AcceptanceFacts = { sameMessageId: first, recentAccepted: [3, 2, 1], lastSameFingerprintAt: 1 };
    expect(decideAcceptance(all, 4, rules)).toEqual({
      kind: 'retransmission',
      queueId: 'q1',
      smsCount: 2,
      coding: 'ucs2',
    });
    expect(decideAcceptance({ ...none, sameMessageId: first }, 86_400_000, rules)).toEqual({ kind: 'store' });
  });

  it('flood before duplicate; a duplicate carries its reason and the drop action', () => {
    expect(decideAcceptance({ ...none, recentAccepted: [3, 2, 1], lastSameFingerprintAt: 1 }, 4, rules)).toEqual({
      kind: 'flood',
    });
    expect(
      decideAcceptance({ ...none, lastSameFingerprintAt: 1000 }, 2500, { ...rules, duplicateAction: 'drop' }),
    ).toEqual({
      kind: 'duplicate',
      ageMs: 1500,
      dropped: true,
      reason: 'duplicate of an SMS accepted 1 s ago (dropped)',
    });
    expect(decideAcceptance({ ...none, lastSameFingerprintAt: 0 }, 60_000, rules)).toEqual({ kind: 'store' });
  });

  it('tells the backend how far to read', () => {
    expect(acceptanceQuery(100_000, rules)).toEqual({ floodLimit: 3, duplicateSince: 40_000 });
  });
});

describe('receipt state', () => {
  it('which stat settles a part', () => {
    expect(
      ['DELIVRD', 'UNDELIV', 'REJECTD', 'DELETED', 'UNKNOWN', 'EXPIRED', 'ENROUTE', 'ACCEPTD'].map(partOutcome),
    ).toEqual([
      'delivered',
      'undeliverable',
      'undeliverable',
      'undeliverable',
      'undeliverable',
      'expired',
      undefined,
      undefined,
    ]);
    expect(partOutcome(null)).toBeUndefined();
  });

  it('a receipt settles an open row, never reopens a final one, and only counts the row’s parts', () => {
    const open = { state: 'submitted' as const, reason: null, receipts: [null, null], partCount: 2 };
    expect(applyReceiptTo(open, 0, 'DELIVRD', undefined)).toEqual({
      receipts: ['DELIVRD', null],
      state: 'submitted',
      reason: null,
    });
    expect(applyReceiptTo({ ...open, receipts: ['DELIVRD', null] }, 1, 'DELIVRD', '000').state).toBe('delivered');
    expect(applyReceiptTo(open, 1, 'UNDELIV', '001')).toEqual({
      receipts: [null, 'UNDELIV'],
      state: 'undeliverable',
      reason: 'receipt stat:UNDELIV err:001',
    });
    const final = { state: 'delivered' as const, reason: null, receipts: ['DELIVRD'], partCount: 1 };
    expect(applyReceiptTo(final, 0, 'UNDELIV', undefined).state).toBe('delivered');
    // A receipt for a part beyond the row's parts (an earlier attempt's) is kept but decides nothing.
    expect(applyReceiptTo({ ...open, partCount: 1, receipts: [null] }, 1, 'UNDELIV', undefined).state).toBe(
      'submitted',
    );
  });
});
