import { describe, expect, it } from 'vitest';
import { compositeOpen, COMPOSITE_WINDOW_MS } from '../../src/policy/composite.js';
import { aggregate, idKeys } from '../../src/delivery/receipt-state.js';
import { isReceipt, parseReceipt } from '../../src/smpp/receipts.js';
import { statusAction, statusName } from '../../src/smpp/status.js';
import { RateLimiter } from '../../src/smpp/throttle.js';

describe('command_status', () => {
  it.each([
    [0x58, 'ESME_RTHROTTLED', 'throttle'],
    [0x14, 'ESME_RMSGQFUL', 'throttle'],
    [0x08, 'ESME_RSYSERR', 'retry'],
    [0x0a, 'ESME_RINVSRCADR', 'fail'],
    [0x0b, 'ESME_RINVDSTADR', 'fail'],
    [0x0c, 'ESME_RINVMSGID', 'fail'],
    [0x45, 'ESME_RSUBMITFAIL', 'fail'],
    [0x61, 'ESME_RINVSCHED', 'fail'],
    [0x66, 'ESME_RX_R_APPN', 'fail'],
    [0x64, 'ESME_RX_T_APPN', 'retry'],
  ])('0x%s %s → %s', (status, name, action) => {
    expect(statusName(status)).toBe(name);
    expect(statusAction(status)).toBe(action);
  });
  it('unknown codes retry; overrides by hex or decimal', () => {
    expect([statusName(0x400), statusAction(0x400)]).toEqual(['0x00000400', 'retry']);
    expect(statusAction(0x45, { '0x45': 'retry' })).toBe('retry');
    expect(statusAction(0x400, { '1024': 'fail' })).toBe('fail');
  });
});

describe('receipts', () => {
  const text = (id: string, stat: string, err = '000') =>
    `id:${id} sub:001 dlvrd:001 submit date:2611240314 done date:2611240315 stat:${stat} err:${err} text:Disk full`;

  it.each(['DELIVRD', 'EXPIRED', 'DELETED', 'UNDELIV', 'ACCEPTD', 'UNKNOWN', 'REJECTD'])(
    'text with stat %s',
    (stat) => {
      expect(parseReceipt({}, text('12AB', stat, '251'))).toEqual({
        id: '12AB',
        stat,
        err: '251',
        submitDate: '2611240314',
        doneDate: '2611240315',
      });
    },
  );

  it('TLVs win: receipted_message_id, message_state, network_error_code', () => {
    const r = parseReceipt(
      { receipted_message_id: 'ff01', message_state: 5, network_error_code: Buffer.from([3, 0x00, 0xfb]) },
      'id:999 stat:DELIVRD',
    );
    expect(r).toMatchObject({ id: 'ff01', stat: 'UNDELIV' });
    expect(
      parseReceipt({ message_state: 3, receipted_message_id: 'a', network_error_code: Buffer.from([1, 0, 13]) }, ''),
    ).toMatchObject({ stat: 'EXPIRED', err: '13' });
  });

  it('not a receipt', () => {
    expect(parseReceipt({}, 'hello, a reply from a phone')).toBeUndefined();
    expect(isReceipt(0x04)).toBe(true);
    expect(isReceipt(0x00)).toBe(false);
    expect(isReceipt(0x40)).toBe(false);
  });

  it('id keys: case, leading zeros, hex ↔ decimal', () => {
    expect(idKeys('00A1')).toEqual({ exact: 'a1', alt: ['161'] });
    expect(idKeys('161')).toEqual({ exact: '161', alt: ['353', 'a1'] });
    expect(idKeys('0')).toEqual({ exact: '0', alt: [] });
    expect(idKeys('msg-7f')).toEqual({ exact: 'msg-7f', alt: [] });
    // Whatever form a receipt uses, its exact key is among the submit id's keys.
    for (const [submitted, receipted] of [
      ['00A1', 'a1'],
      ['00A1', '161'],
      ['161', 'A1'],
      ['0000161', '161'],
      ['ABCDEF', 'abcdef'],
    ]) {
      const k = idKeys(submitted as string);
      expect([k.exact, ...k.alt]).toContain(idKeys(receipted as string).exact);
    }
  });

  it('aggregation per part', () => {
    expect(aggregate(['DELIVRD', 'DELIVRD'])).toBe('delivered');
    expect(aggregate(['DELIVRD', null])).toBeUndefined();
    expect(aggregate(['DELIVRD', 'UNDELIV'])).toBe('undeliverable');
    expect(aggregate([null, 'REJECTD'])).toBe('undeliverable');
    expect(aggregate(['EXPIRED', 'DELIVRD'])).toBe('expired');
    expect(aggregate(['ACCEPTD', 'ENROUTE'])).toBeUndefined();
  });
});

describe('rate limiter (clock passed in)', () => {
  it('paces at the configured rate', () => {
    let t = 0;
    const r = new RateLimiter(10, () => t);
    const waits = Array.from({ length: 12 }, () => r.take());
    expect(waits.slice(0, 10).every((w) => w === 0)).toBe(true);
    expect(waits[10]).toBe(100);
    t += 100;
    expect(r.take()).toBe(0);
  });

  it('halves on throttling and recovers after quiet spells; unlimited stays unlimited until throttled', () => {
    let t = 0;
    const r = new RateLimiter(0, () => t, 40);
    expect(r.take()).toBe(0);
    expect(r.currentRate()).toBe(Infinity);
    r.throttled();
    expect(r.currentRate()).toBe(20);
    r.throttled();
    expect(r.currentRate()).toBe(10);
    r.throttled();
    r.throttled();
    expect(r.currentRate()).toBe(5); // floor: an eighth of the base rate
    t += 2000;
    expect(r.currentRate()).toBe(10);
    t += 4000;
    expect(r.currentRate()).toBe(Infinity);
  });
});

describe('composite window', () => {
  it('open until 5 s before the minute', () => {
    expect(COMPOSITE_WINDOW_MS).toBe(60_000);
    expect(compositeOpen(0, 54_999)).toBe(true);
    expect(compositeOpen(0, 55_000)).toBe(false);
    expect(compositeOpen(0, 2_700, 3_000)).toBe(true);
    expect(compositeOpen(0, 2_750, 3_000)).toBe(false);
    expect(compositeOpen(0, 10 ** 9, 0)).toBe(true);
  });
});
