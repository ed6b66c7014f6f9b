import { describe, expect, it } from 'vitest';
import { RecentAcceptances } from '../../src/policy/recent.js';

describe('recent acceptances (fake clock)', () => {
  it('a recipient is worth checking only while its last acceptance is under the gap', () => {
    let t = 0;
    const r = new RecentAcceptances(30_000, () => t);
    expect(r.mayBeInStreak('7999')).toBe(false);
    r.note('7999');
    t = 29_999;
    expect(r.mayBeInStreak('7999')).toBe(true);
    t = 30_000;
    expect(r.mayBeInStreak('7999')).toBe(false);
  });

  it('loads from the spool, keeps the newest time, prunes old entries', () => {
    let t = 100_000;
    const r = new RecentAcceptances(30_000, () => t);
    r.load([
      ['a', 90_000],
      ['a', 80_000],
      ['b', 60_000],
    ]);
    expect([r.mayBeInStreak('a'), r.mayBeInStreak('b')]).toEqual([true, false]);
    r.prune();
    expect(r.size).toBe(1);
    t = 200_000;
    r.prune();
    expect(r.size).toBe(0);
  });
});
