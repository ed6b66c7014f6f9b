/** The provider rules applied by the spool, with the clock passed in; state survives a restart (a reopen). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PolicyRules } from '../../src/policy/rules.js';
import { SqliteSpool } from '../../src/spool/sqlite.js';
import type { NewSms } from '../../src/spool/types.js';

const rules: PolicyRules = { duplicateWindowMs: 60_000, duplicateAction: 'reject', retransmitWindowMs: 86_400_000, floodMax: 50, floodGapMs: 30_000 };
const row = (recipient: string, text: string, messageId: string | null = null): NewSms => ({
  queueId: `q-${text}`, recipient, sourceAddr: 'Alerts', sourceTon: 5, sourceNpi: 0, text, comment: '', coding: 'gsm7', dataCoding: 0,
  smsCount: 1, truncated: false, parts: [{ udh: '', body: '61', units: 1, payload: false }], messageId, smtpUser: null, mailFrom: null,
  clientIp: null, fingerprint: `${recipient}|Alerts|${text}`, state: 'queued', reason: null,
});

function reopen(spool: SqliteSpool): SqliteSpool {
  spool.close();
  return new SqliteSpool(spool.path);
}

const newSpool = () => new SqliteSpool(join(mkdtempSync(join(tmpdir(), 'policy-')), 's.sqlite'));

describe('duplicate rule in the spool', () => {
  it('59.999 s: refused and stored as refused; 60 s: queued; state read back after a restart', () => {
    let spool = newSpool();
    expect(spool.acceptChecked([row('7999', 'disk full')], 0, rules)).toEqual([{ kind: 'queued', id: expect.any(Number) }]);
    spool = reopen(spool);
    expect(spool.acceptChecked([row('7999', 'disk full')], 59_999, rules)).toEqual([{ kind: 'duplicate', ageMs: 59_999, dropped: false }]);
    expect(spool.countsByState()).toEqual({ queued: 1, refused: 1 });
    // A refused duplicate does not restart the window.
    expect(spool.acceptChecked([row('7999', 'disk full')], 60_000, rules)).toEqual([{ kind: 'queued', id: expect.any(Number) }]);
    // Another recipient, sender or text is not a duplicate.
    expect(spool.acceptChecked([row('7998', 'disk full'), row('7999', 'disk ok')], 60_001, rules).map((o) => o.kind)).toEqual(['queued', 'queued']);
  });

  it('a spool made by an older version loses its fingerprint index at open; the rule works the same', () => {
    let spool = newSpool();
    spool.db.exec('CREATE INDEX sms_fingerprint ON sms(fingerprint, created_at)');
    spool.acceptChecked([row('7999', 'disk full')], 0, rules);
    spool = reopen(spool);
    expect(spool.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'sms_fingerprint'`).all()).toEqual([]);
    expect(spool.acceptChecked([row('7999', 'disk full')], 30_000, rules)).toEqual([{ kind: 'duplicate', ageMs: 30_000, dropped: false }]);
  });

  it('drop: stored as refused, reported as dropped', () => {
    const spool = newSpool();
    spool.acceptChecked([row('7999', 'x')], 0, rules);
    expect(spool.acceptChecked([row('7999', 'x')], 1, { ...rules, duplicateAction: 'drop' })).toEqual([{ kind: 'duplicate', ageMs: 1, dropped: true }]);
    expect(spool.byQueueId('q-x')[1]!.reason).toBe('duplicate of an SMS accepted 0 s ago (dropped)');
  });

  it('two rows of one batch see each other', () => {
    const spool = newSpool();
    expect(spool.acceptChecked([row('7999', 'x'), row('7999', 'x')], 0, rules).map((o) => o.kind)).toEqual(['queued', 'duplicate']);
  });
});

describe('retransmission by Message-ID', () => {
  it('the same Message-ID to the same recipient within the window is the first acceptance, even after a restart', () => {
    let spool = newSpool();
    spool.acceptChecked([row('7999', 'a', '<m1@x>')], 0, rules);
    spool = reopen(spool);
    expect(spool.acceptChecked([row('7999', 'a', '<m1@x>')], 10 * 60_000, rules)).toEqual([
      { kind: 'retransmission', queueId: 'q-a', smsCount: 1, coding: 'gsm7' },
    ]);
    expect(spool.acceptChecked([row('7998', 'a', '<m1@x>')], 10 * 60_000, rules)[0]!.kind).toBe('queued');
    expect(spool.acceptChecked([row('7999', 'b', '<m1@x>')], 86_400_000, rules)[0]!.kind).toBe('queued');
  });
});

describe('flood rule in the spool', () => {
  it('50 messages 1 s apart, a restart, then the 51st is refused; after 30 s quiet it is allowed', () => {
    let spool = newSpool();
    for (let i = 0; i < 50; i++) expect(spool.acceptChecked([row('7999', `m${i}`)], i * 1000, rules)[0]!.kind).toBe('queued');
    spool = reopen(spool);
    expect(spool.recentAccepted('7999', 50)).toHaveLength(50);
    expect(spool.acceptChecked([row('7999', 'm50')], 50_000, rules)).toEqual([{ kind: 'flood' }]);
    expect(spool.countsByState()).toEqual({ queued: 50 });
    expect(spool.acceptChecked([row('7999', 'm50')], 49_000 + 30_000, rules)[0]!.kind).toBe('queued');
  });

  it('0 disables each rule', () => {
    const spool = newSpool();
    const off = { ...rules, duplicateWindowMs: 0, floodMax: 0, retransmitWindowMs: 0 };
    for (let i = 0; i < 60; i++) expect(spool.acceptChecked([row('7999', 'same', '<same@x>')], i, off)[0]!.kind).toBe('queued');
  });
});
