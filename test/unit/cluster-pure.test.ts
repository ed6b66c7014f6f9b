/** Issue 23's pure parts: the clock offset from a round trip, the settings a cluster must share. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { describeMismatches, mismatches, sharedSettings } from '../../src/spool/postgres/cluster-settings.js';
import { bestReading, offsetOf } from '../../src/spool/postgres/db-clock.js';

describe('clock offset', () => {
  it("the database's time is taken as read halfway through the round trip; the shortest trip wins", () => {
    expect(offsetOf(1000, 66_010, 1020)).toEqual({ offsetMs: 65_000, rttMs: 20 });
    expect(bestReading([offsetOf(0, 100, 40), offsetOf(100, 205, 110), offsetOf(200, 300, 230)])).toEqual({
      offsetMs: 100,
      rttMs: 10,
    });
    expect(bestReading([])).toBeUndefined();
  });
});

describe('shared settings', () => {
  const config = (over: Record<string, unknown>) => parseConfig({ spool: { path: ':memory:' }, ...over });
  it('policy, cluster timings and the SMSC account limits; other keys are a node’s own', () => {
    const keys = [...sharedSettings(config({})).keys()];
    expect(keys).toEqual(
      expect.arrayContaining(['policy.duplicate_window_s', 'cluster.failover_s', 'smpp.throughput']),
    );
    expect(keys.some((k) => k.startsWith('smtp.') || k.startsWith('node.'))).toBe(false);
  });

  it('names each differing key with both values and who set the recorded one', () => {
    const mine = sharedSettings(config({ policy: { duplicate_window_s: 30 }, smpp: { throughput: 5 } }));
    const recorded = new Map(
      [...sharedSettings(config({})).entries()].map(([k, v]) => [k, { value: v, node: 'node-a' }]),
    );
    const found = mismatches(mine, recorded);
    expect(found.map((m) => m.key)).toEqual(['policy.duplicate_window_s', 'smpp.throughput']);
    expect(describeMismatches(found)).toBe(
      'policy.duplicate_window_s: this node has 30, the cluster has 60 (set by node node-a); ' +
        'smpp.throughput: this node has 5, the cluster has 0 (set by node node-a)',
    );
    expect(mismatches(mine, new Map())).toEqual([]);
  });
});
