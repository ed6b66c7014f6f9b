import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBytes, normaliseText } from '../../src/sms/encode.js';
import { GSM_DEFAULT_CHARS, GSM_EXTENSION_CHARS } from '../../src/sms/gsm7.js';
import { prepareSms, type SmsOptions } from '../../src/sms/prepare.js';
import { PART_LIMITS, SINGLE_LIMITS } from '../../src/sms/segment.js';

/** Characters that stress the boundaries: GSM, escapes, Latin-1-only, Cyrillic, emoji, ZWJ sequences. */
const interesting = fc.constantFrom(
  ...GSM_DEFAULT_CHARS,
  ...GSM_EXTENSION_CHARS,
  ...GSM_EXTENSION_CHARS,
  'â',
  'ç',
  'ÿ',
  'я',
  'Ж',
  '😀',
  '🚨',
  '👨‍👩‍👧',
  '東',
  '\u00a0',
  '’',
  '—',
);
const texts = fc.oneof(
  fc.array(interesting, { maxLength: 700 }).map((a) => a.join('')),
  fc.array(fc.constantFrom(...GSM_DEFAULT_CHARS, ...GSM_EXTENSION_CHARS), { maxLength: 700 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 400 }),
);
const options = fc.record({
  profile: fc.constantFrom('generic', 'smsc') as fc.Arbitrary<SmsOptions['profile']>,
  systemType: fc.constantFrom('', 'ISO'),
  allowLatin1: fc.boolean(),
  concatenation: fc.constantFrom('udh8', 'udh16', 'sar', 'payload') as fc.Arbitrary<SmsOptions['concatenation']>,
});

describe('segmentation properties', () => {
  it('parts decode and join back to the text, none exceeds its limit, short_message ≤ 254 bytes', () => {
    fc.assert(
      fc.property(texts, options, fc.integer({ min: 0, max: 0xffff }), (text, o, ref) => {
        fc.pre(normaliseText(text).trim() !== '');
        const opts: SmsOptions = {
          ...o,
          smartEncoding: false,
          transliterate: false,
          maxParts: 255,
          onTooLong: 'reject',
        };
        const sms = prepareSms(text, opts, ref);
        const decoded = sms.parts
          .map((p) => decodeBytes(p.body, sms.dataCoding, { systemType: o.systemType }))
          .join('');
        expect(decoded).toBe(normaliseText(text));
        const single = sms.parts.length === 1 && !sms.parts[0]!.payload;
        for (const p of sms.parts) {
          if (p.payload) continue;
          expect(p.units).toBeLessThanOrEqual(
            single ? SINGLE_LIMITS[sms.coding] : PART_LIMITS[o.concatenation][sms.coding],
          );
          expect(p.udh.length + p.body.length).toBeLessThanOrEqual(254);
          if (!single) expect(p.units).toBeGreaterThan(0);
        }
        if (!single && !sms.parts[0]!.payload) expect(sms.parts).toHaveLength(sms.smsCount);
      }),
      { numRuns: 1500 },
    );
  });

  it('with smart encoding the result is never more parts than without it', () => {
    fc.assert(
      fc.property(texts, (text) => {
        fc.pre(normaliseText(text).trim() !== '');
        const base: SmsOptions = {
          profile: 'generic',
          allowLatin1: false,
          transliterate: false,
          concatenation: 'udh8',
          maxParts: 255,
          onTooLong: 'reject',
          smartEncoding: false,
        };
        const plain = prepareSms(text, base);
        const smart = prepareSms(text, { ...base, smartEncoding: true });
        expect(smart.smsCount).toBeLessThanOrEqual(plain.smsCount);
      }),
      { numRuns: 500 },
    );
  });

  it('truncation always fits max_parts and keeps a prefix of the text', () => {
    fc.assert(
      fc.property(texts, fc.integer({ min: 1, max: 4 }), (text, maxParts) => {
        fc.pre(normaliseText(text).trim() !== '');
        const opts: SmsOptions = {
          profile: 'generic',
          allowLatin1: false,
          transliterate: false,
          concatenation: 'udh8',
          maxParts,
          onTooLong: 'truncate',
          smartEncoding: false,
        };
        const sms = prepareSms(text, opts);
        expect(sms.smsCount).toBeLessThanOrEqual(maxParts);
        if (sms.truncated) {
          const head = sms.text.replace(/(\.\.\.|…)$/u, '');
          expect(normaliseText(text).startsWith(head)).toBe(true);
        } else {
          expect(sms.text).toBe(normaliseText(text));
        }
      }),
      { numRuns: 300 },
    );
  });
});
