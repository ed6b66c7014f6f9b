import { describe, expect, it } from 'vitest';
import { decodeBytes, type Coding } from '../../src/sms/encode.js';
import { prepareSms, type SmsOptions } from '../../src/sms/prepare.js';
import { createRefCounter, type Concatenation } from '../../src/sms/segment.js';
import { SMS_OPTIONS } from '../helpers/options.js';

const opts: SmsOptions = { ...SMS_OPTIONS, smartEncoding: false, maxParts: 255 };
const prep = (text: string, o: Partial<SmsOptions> = {}, ref = 0x42) => prepareSms(text, { ...opts, ...o }, ref);
const joined = (text: string, o: Partial<SmsOptions> = {}) => {
  const sms = prep(text, o);
  return sms.parts.map((p) => decodeBytes(p.body, sms.dataCoding, {})).join('');
};

describe('single-part limits', () => {
  it.each([
    ['GSM', 'a', 160],
    ['UCS-2', 'я', 70],
  ])('%s: exactly the limit is one part, one more is two', (_name, ch, limit) => {
    expect(prep(ch.repeat(limit)).smsCount).toBe(1);
    expect(prep(ch.repeat(limit)).parts[0]!.udh).toHaveLength(0);
    expect(prep(ch.repeat(limit + 1)).smsCount).toBe(2);
  });

  it('Latin-1: 140 octets, then two parts', () => {
    expect(prep('é'.repeat(140), { allowLatin1: true }).smsCount).toBe(1);
    expect(prep('â'.repeat(140), { allowLatin1: true }).smsCount).toBe(1);
    expect(prep('â'.repeat(141), { allowLatin1: true }).smsCount).toBe(2);
  });

  it('extension characters count two septets: 80 € fit, 81 do not', () => {
    expect(prep('€'.repeat(80)).smsCount).toBe(1);
    expect(prep('€'.repeat(81)).smsCount).toBe(2);
  });

  it('emoji count two UCS-2 units: 35 fit, 36 do not', () => {
    expect(prep('😀'.repeat(35)).smsCount).toBe(1);
    expect(prep('😀'.repeat(36)).smsCount).toBe(2);
  });
});

describe('concatenated limits', () => {
  const cases: Array<[Concatenation, Coding, string, number]> = [
    ['udh8', 'gsm7', 'a', 153],
    ['udh8', 'ucs2', 'я', 67],
    ['udh8', 'latin1', 'â', 134],
    ['udh16', 'gsm7', 'a', 152],
    ['udh16', 'ucs2', 'я', 66],
    ['udh16', 'latin1', 'â', 133],
    ['sar', 'gsm7', 'a', 152],
    ['sar', 'ucs2', 'я', 66],
  ];
  it.each(cases)('%s %s: k×%s is k parts, k×n+1 is k+1', (concat, coding, ch, per) => {
    for (const k of [2, 3, 7]) {
      const full = prep(ch.repeat(k * per), { concatenation: concat, allowLatin1: true });
      expect(full.coding).toBe(coding);
      expect(full.smsCount).toBe(k);
      expect(full.parts.every((p) => p.units === per)).toBe(true);
      expect(prep(ch.repeat(k * per + 1), { concatenation: concat, allowLatin1: true }).smsCount).toBe(k + 1);
    }
  });
});

describe('part boundaries never split a pair', () => {
  it('an escape pair straddling every boundary moves whole to the next part', () => {
    for (let k = 1; k <= 3; k++) {
      const text = `${'a'.repeat(k * 153 - 1)}€${'b'.repeat(10)}`;
      const sms = prep(text);
      const split = sms.parts[k - 1]!;
      expect(split.units).toBe(152); // 152 'a', the € did not fit in one septet
      expect(split.body.at(-1)).not.toBe(0x1b);
      expect([...sms.parts[k]!.body.subarray(0, 2)]).toEqual([0x1b, 0x65]);
      expect(joined(text)).toBe(text);
    }
  });

  it('a surrogate pair straddling every boundary moves whole to the next part', () => {
    for (let k = 1; k <= 3; k++) {
      const text = `${'я'.repeat(k * 67 - 1)}😀${'ю'.repeat(5)}`;
      const sms = prep(text);
      const split = sms.parts[k - 1]!;
      expect(split.units).toBe(66);
      const lastUnit = split.body.readUInt16BE(split.body.length - 2);
      expect(lastUnit >= 0xd800 && lastUnit <= 0xdbff).toBe(false);
      expect(joined(text)).toBe(text);
    }
  });

  it('mixed scripts go as UCS-2 and join back', () => {
    const text = 'Alert: сервер db1 недоступен 🚨 since 03:14 — Ω≈ç√∫ 東京 '.repeat(5);
    const sms = prep(text);
    expect(sms.coding).toBe('ucs2');
    expect(joined(text)).toBe(text);
  });
});

describe('headers and references', () => {
  it('udh8: 05 00 03 ref total seq, esm UDHI', () => {
    const sms = prep('a'.repeat(200), {}, 0x1234);
    expect(sms.parts.map((p) => p.udh.toString('hex'))).toEqual(['0500033402' + '01', '0500033402' + '02']);
  });

  it('udh16: 06 08 04 refHi refLo total seq', () => {
    const sms = prep('a'.repeat(200), { concatenation: 'udh16' }, 0x1234);
    expect(sms.parts.map((p) => p.udh.toString('hex'))).toEqual(['06080412340201', '06080412340202']);
  });

  it('sar: no UDH, TLV values per part', () => {
    const sms = prep('a'.repeat(400), { concatenation: 'sar' }, 0xbeef);
    expect(sms.parts.every((p) => p.udh.length === 0)).toBe(true);
    expect(sms.parts.map((p) => p.sar)).toEqual([1, 2, 3].map((seq) => ({ ref: 0xbeef, total: 3, seq })));
  });

  it('payload: the whole text in one message_payload, counted as the SMSC will split it', () => {
    const text = 'я'.repeat(200);
    const sms = prep(text, { concatenation: 'payload' });
    expect(sms.parts).toHaveLength(1);
    expect(sms.parts[0]!.payload).toBe(true);
    expect(sms.parts[0]!.body).toHaveLength(400);
    expect(sms.smsCount).toBe(3);
    expect(prep('short', { concatenation: 'payload' }).parts[0]!.payload).toBe(false);
  });

  it('reference numbers differ between consecutive messages', () => {
    const next = createRefCounter(0xfffe);
    const refs = [next(), next(), next()];
    expect(refs).toEqual([0xfffe, 0xffff, 0]);
    const udh8 = refs.map((r) => prep('a'.repeat(200), {}, r).parts[0]!.udh[3]);
    expect(new Set(udh8).size).toBe(3);
  });
});

describe('max_parts', () => {
  it('reject names the part count', () => {
    expect(() => prep('a'.repeat(153 * 3 + 1), { maxParts: 3 })).toThrow(/needs 4 SMS parts \(GSM\), at most 3/);
    try {
      prep('a'.repeat(500), { maxParts: 3 });
    } catch (e) {
      expect(e).toMatchObject({ responseCode: 550, enhanced: '5.3.4' });
    }
  });

  it('truncate cuts to fit with "..." in GSM', () => {
    const sms = prep('word '.repeat(200), { maxParts: 2, onTooLong: 'truncate' });
    expect(sms.truncated).toBe(true);
    expect(sms.smsCount).toBe(2);
    expect(sms.text.endsWith(' word...')).toBe(true);
    expect(sms.text.length).toBeLessThanOrEqual(306);
    expect(sms.text.length).toBeGreaterThan(306 - 20);
  });

  it('truncate ends a UCS-2 text with "…"', () => {
    const sms = prep('я'.repeat(500), { maxParts: 1, onTooLong: 'truncate' });
    expect(sms.smsCount).toBe(1);
    expect(sms.text).toBe(`${'я'.repeat(69)}…`); // one long word: no break to prefer
  });

  it('truncate with one part and smart encoding off still stays GSM', () => {
    const sms = prep('x'.repeat(1000), { maxParts: 1, onTooLong: 'truncate' });
    expect([sms.coding, sms.text]).toEqual(['gsm7', `${'x'.repeat(157)}...`]);
  });
});

describe('empty text', () => {
  it.each(['', '   ', '\r\n\n'])('%j is refused with 550 5.6.0', (text) => {
    expect(() => prep(text)).toThrow(expect.objectContaining({ responseCode: 550, enhanced: '5.6.0' }));
  });
});
