import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqliteSpool } from '../../src/spool/sqlite.js';
import type { NewSms } from '../../src/spool/types.js';

const row = (recipient: string, parts = 1): NewSms => ({
  queueId: 'q1', recipient, sourceAddr: '', sourceTon: 0, sourceNpi: 0, text: 't', comment: '', coding: 'gsm7',
  dataCoding: 0, smsCount: parts, truncated: false,
  parts: Array.from({ length: parts }, () => ({ udh: '', body: '74', units: 1, payload: false })),
  messageId: null, smtpUser: null, mailFrom: null, clientIp: null, fingerprint: recipient, state: 'queued', reason: null,
});

let spool: SqliteSpool;
beforeEach(() => {
  spool = new SqliteSpool(join(mkdtempSync(join(tmpdir(), 'spool-')), 's.sqlite'));
});

describe('spool state machine', () => {
  it('WAL with synchronous=FULL', () => {
    expect(spool.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(spool.db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('claim takes due rows in order, marks them sending and counts the attempt', () => {
    spool.accept([row('1'), row('2'), row('3')], 100);
    spool.reschedule(1, 'later', 500, 100);
    const claimed = spool.claim(10, 200);
    expect(claimed.map((r) => [r.id, r.state, r.attempts])).toEqual([[2, 'sending', 1], [3, 'sending', 1]]);
    expect(spool.claim(10, 200)).toEqual([]);
    expect(spool.nextDue()).toBe(500);
    expect(spool.pendingCount()).toBe(3);
  });

  it('after a crash, sending rows go back to queued', () => {
    spool.accept([row('1')], 0);
    spool.claim(1, 0);
    expect(spool.requeueSending(10)).toBe(1);
    expect(spool.byId(1)!.state).toBe('queued');
  });

  it('parts, receipts through another id form, aggregation, no reopening a final state', () => {
    spool.accept([row('1', 2)], 0);
    spool.claim(1, 0);
    spool.recordPart(1, 0, '00A1', 1);
    spool.recordPart(1, 1, '00A2', 2, true);
    expect(spool.byId(1)!.firstSubmitAt).toBe(1);
    const state = (u: ReturnType<SqliteSpool['applyReceipt']>) => (u === 'early' ? u : u.state);
    expect(state(spool.applyReceipt('161', 'DELIVRD', '000', 4))).toBe('submitted');
    expect(state(spool.applyReceipt('a2', 'DELIVRD', '000', 5))).toBe('delivered');
    expect(state(spool.applyReceipt('A2', 'UNDELIV', '001', 6))).toBe('delivered');
    expect(spool.applyReceipt('ffff', 'DELIVRD', undefined, 7)).toBe('early');
  });

  it('a receipt that overtakes its submit_sm_resp is applied when the id is recorded', () => {
    spool.accept([row('1')], 0);
    spool.claim(1, 0);
    expect(spool.applyReceipt('0000B', 'DELIVRD', '000', 1)).toBe('early');
    spool.recordPart(1, 0, '11', 2, true); // decimal 11 = hex b
    expect(spool.byId(1)!.receipts).toEqual(['DELIVRD']);
    expect(spool.byId(1)!.state).toBe('delivered');
  });

  it('an exact id wins over another message whose id reads the same in the other base', () => {
    spool.accept([row('1'), row('2')], 0);
    spool.claim(2, 0);
    spool.recordPart(1, 0, '100', 1, true); // decimal 100 is also hex "64"
    spool.recordPart(2, 0, '64', 1, true);
    expect((spool.applyReceipt('64', 'DELIVRD', undefined, 2) as { id: number }).id).toBe(2);
    expect((spool.applyReceipt('100', 'DELIVRD', undefined, 2) as { id: number }).id).toBe(1);
  });

  it('an id the SMSC gave twice settles the latest part given it', () => {
    spool.accept([row('1'), row('2')], 0);
    spool.claim(2, 0);
    spool.recordPart(1, 0, 'abc', 1, true);
    spool.recordPart(2, 0, 'ABC', 1, true);
    expect((spool.applyReceipt('abc', 'DELIVRD', undefined, 2) as { id: number }).id).toBe(2);
    expect(spool.byId(1)!.state).toBe('submitted');
  });

  it('reschedule whole with new parts forgets earlier ids; finish; expire; prune', () => {
    spool.accept([row('1', 2), row('2'), row('3')], 0);
    spool.claim(3, 0);
    spool.recordPart(1, 0, 'x1', 1);
    spool.reschedule(1, 'again', 10, 5, [{ udh: '050003070201', body: '61', units: 1, payload: false }, { udh: '050003070202', body: '62', units: 1, payload: false }]);
    const r1 = spool.byId(1)!;
    expect([r1.state, r1.smscIds, r1.firstSubmitAt, r1.parts[0]!.udh]).toEqual(['queued', [null, null], null, '050003070201']);
    spool.finish(2, 'failed', 'SMSC refused', 6);
    expect(spool.expireQueued(1, 7, 'too old')).toBe(1);
    expect(spool.countsByState()).toEqual({ expired: 1, failed: 1, sending: 1 });
    expect(spool.prune(6)).toBe(0);
    expect(spool.prune(8)).toBe(2);
    expect(spool.countsByState()).toEqual({ sending: 1 });
  });

  it('inbound messages are kept', () => {
    spool.storeInbound({ sourceAddr: '7999', destinationAddr: 'Alerts', dataCoding: 8, text: 'ok' }, 1);
    expect(spool.db.prepare('SELECT received_at, source_addr, destination_addr, data_coding, text FROM inbound').all())
      .toEqual([{ received_at: 1, source_addr: '7999', destination_addr: 'Alerts', data_coding: 8, text: 'ok' }]);
  });

  it('writes of one group commit: a failing one undoes only its own changes, the others commit', async () => {
    const first = spool.batch(() => spool.accept([row('1')], 1));
    const failing = spool.batch(() => {
      spool.accept([row('2')], 1);
      throw new Error('half-done write');
    });
    const third = spool.batch(() => spool.accept([row('3')], 1));
    await expect(first).resolves.toEqual([1]);
    await expect(failing).rejects.toThrow(/half-done write/);
    const [id3] = await third;
    expect(spool.byId(id3!)!.recipient).toBe('3');
    expect(spool.db.prepare('SELECT recipient FROM sms ORDER BY id').all()).toEqual([{ recipient: '1' }, { recipient: '3' }]);
    expect(spool.db.inTransaction).toBe(false);
  });

  it('a group run again after a failure still finds the early receipt one of its writes uses', async () => {
    spool.accept([row('1')], 0);
    spool.claim(1, 0);
    expect(spool.applyReceipt('0000B', 'DELIVRD', '000', 1)).toBe('early');
    // The first, optimistic run uses the early receipt, then the failing write rolls it all back.
    const record = spool.batch(() => spool.recordPart(1, 0, '11', 2, true));
    const failing = spool.batch(() => {
      throw new Error('boom');
    });
    await record;
    await expect(failing).rejects.toThrow(/boom/);
    expect(spool.byId(1)!.receipts).toEqual(['DELIVRD']);
    expect(spool.byId(1)!.state).toBe('delivered');
  });

  it('refuses a spool written by a newer schema', () => {
    spool.db.pragma('user_version = 99');
    const path = spool.path;
    spool.close();
    expect(() => new SqliteSpool(path)).toThrow(/schema version 99/);
  });
});
