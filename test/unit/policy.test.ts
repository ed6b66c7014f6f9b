import { describe, expect, it } from 'vitest';
import {
  duplicateAge,
  duplicateReply,
  floodRefused,
  floodReply,
  isRetransmission,
  streakLength,
  type PolicyRules,
} from '../../src/policy/rules.js';

const rules: PolicyRules = {
  duplicateWindowMs: 60_000,
  duplicateAction: 'reject',
  retransmitWindowMs: 86_400_000,
  floodMax: 50,
  floodGapMs: 30_000,
};

describe('duplicate window (fake clock)', () => {
  it('59.999 s after: duplicate; 60 s after: allowed', () => {
    expect(duplicateAge(0, 59_999, rules)).toBe(59_999);
    expect(duplicateAge(0, 60_000, rules)).toBeUndefined();
    expect(duplicateAge(undefined, 1, rules)).toBeUndefined();
  });
  it('0 disables', () => {
    expect(duplicateAge(0, 1, { duplicateWindowMs: 0 })).toBeUndefined();
  });
  it('reply text', () => {
    const text =
      'Duplicate: an identical SMS to +79991234567 was accepted 12 s ago; identical messages are refused for 60 s';
    expect(duplicateReply('79991234567', 12_400, rules, false)).toEqual({ code: 550, enhanced: '5.7.1', text });
    expect(duplicateReply('79991234567', 12_400, rules, true)).toEqual({
      code: 250,
      enhanced: '2.0.0',
      text: `Dropped, nothing sent: ${text}`,
    });
  });
});

describe('retransmission window', () => {
  it('within a day: the same Message-ID is the same mail', () => {
    expect(isRetransmission(0, 86_399_999, rules)).toBe(true);
    expect(isRetransmission(0, 86_400_000, rules)).toBe(false);
    expect(isRetransmission(undefined, 1, rules)).toBe(false);
    expect(isRetransmission(0, 1, { retransmitWindowMs: 0 })).toBe(false);
  });
});

describe('flood streaks (fake clock)', () => {
  /** n acceptances `gap` ms apart, the newest at `last`, newest first. */
  const streak = (n: number, gap: number, last: number) => Array.from({ length: n }, (_, i) => last - i * gap);

  it('the 50th message is allowed, the 51st refused', () => {
    expect(floodRefused(streak(49, 1000, 49_000), 50_000, rules)).toBe(false);
    expect(floodRefused(streak(50, 1000, 49_000), 50_000, rules)).toBe(true);
  });

  it('gaps of 29.999 s continue the streak, 30 s end it', () => {
    expect(streakLength(streak(50, 29_999, 0), 29_999, 30_000)).toBe(50);
    expect(floodRefused(streak(50, 29_999, 0), 29_999, rules)).toBe(true);
    expect(streakLength(streak(50, 30_000, 0), 29_999, 30_000)).toBe(1);
    expect(floodRefused(streak(50, 30_000, 0), 29_999, rules)).toBe(false);
  });

  it('a quiet spell of 30 s before the next message resets the streak', () => {
    expect(floodRefused(streak(50, 1000, 0), 29_999, rules)).toBe(true);
    expect(floodRefused(streak(50, 1000, 0), 30_000, rules)).toBe(false);
  });

  it('after a reset the streak counts again from the reset', () => {
    // 50 old ones, a 40 s gap, then 49 new ones: the 50th new one is allowed, the 51st not.
    const newer = streak(49, 1000, 200_000);
    const older = streak(50, 1000, 200_000 - 48_000 - 40_000);
    expect(floodRefused([...newer, ...older], 201_000, rules)).toBe(false);
    expect(floodRefused([201_000, ...newer, ...older], 202_000, rules)).toBe(true);
  });

  it('0 disables; the reply is a temporary 450 4.7.1', () => {
    expect(floodRefused(streak(100, 1, 0), 1, { floodMax: 0, floodGapMs: 30_000 })).toBe(false);
    expect(floodReply('79991234567', rules)).toEqual({
      code: 450,
      enhanced: '4.7.1',
      text:
        'Too many messages to +79991234567: 50 accepted less than 30 s apart (provider limit); try again after ' +
        '30 s without messages',
    });
  });
});
