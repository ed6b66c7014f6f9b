/**
 * Our part counts against Twilio's sms-segments-calculator (smart encoding off, udh8) on a generated corpus and on
 * constructed boundary cases. Both count 153/67 per concatenated part and keep escape and surrogate pairs whole, so
 * no difference is expected; the one input where counts would legitimately differ, CR (we send CRLF and CR as LF,
 * Twilio counts each), is left out of the corpus and checked on its own.
 */
import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { GSM_DEFAULT_CHARS, GSM_EXTENSION_CHARS } from '../../src/sms/gsm7.js';
import { prepareSms, type SmsOptions } from '../../src/sms/prepare.js';
import { SMS_OPTIONS } from '../helpers/options.js';

const opts: SmsOptions = { ...SMS_OPTIONS, smartEncoding: false, maxParts: 255 };
// Twilio's GSM set has no CR handling identical to ours (we normalise CR to LF), so the corpus leaves CR out.
const gsmChars = [...GSM_DEFAULT_CHARS.filter((c) => c !== '\r'), ...GSM_EXTENSION_CHARS];
const corpus = (chars: string[], n: number, seed: number) =>
  fc.sample(
    fc
      .array(fc.constantFrom(...chars), { minLength: 1, maxLength: 800 })
      .map((a) => a.join(''))
      .filter((t) => t.trim() !== ''),
    { numRuns: n, seed },
  );

function compare(texts: string[]) {
  const differences: Array<{ text: string; ours: number; theirs: number }> = [];
  for (const text of texts) {
    const ours = prepareSms(text, opts).smsCount;
    const theirs = new SegmentedMessage(text, 'auto', false).segmentsCount;
    if (ours !== theirs) differences.push({ text, ours, theirs });
  }
  return differences;
}

describe('cross-check with Twilio sms-segments-calculator', () => {
  it('agrees on GSM texts without extension characters', () => {
    const texts = corpus(
      gsmChars.filter((c) => !GSM_EXTENSION_CHARS.includes(c)),
      400,
      1,
    );
    expect(compare(texts)).toEqual([]);
  });

  it('agrees on UCS-2 texts (Cyrillic, CJK, BMP symbols)', () => {
    const texts = corpus([...'абвгдеёжзийклмнопрстуфхцчшщъыьэюя東京大阪 .,!?0123456789'], 400, 2);
    expect(compare(texts)).toEqual([]);
  });

  it('agrees on GSM texts with extension characters', () => {
    expect(compare(corpus(gsmChars, 400, 3))).toEqual([]);
  });

  it('agrees on UCS-2 texts with emoji (surrogate pairs)', () => {
    expect(compare(corpus([...'абв abc', '😀', '🚨', '🔥'], 400, 4))).toEqual([]);
  });

  it('agrees on constructed boundary cases (pairs straddling each part boundary, exact limits)', () => {
    const texts: string[] = [];
    for (let k = 1; k <= 4; k++) {
      texts.push(
        'a'.repeat(153 * k),
        'a'.repeat(153 * k + 1),
        `${'a'.repeat(153 * k - 1)}€x`,
        `${'a'.repeat(153 * k - 1)}€`,
      );
      texts.push(
        'я'.repeat(67 * k),
        'я'.repeat(67 * k + 1),
        `${'я'.repeat(67 * k - 1)}😀я`,
        `${'я'.repeat(67 * k - 1)}😀`,
      );
    }
    texts.push('a'.repeat(160), 'a'.repeat(161), '€'.repeat(80), '€'.repeat(81), 'я'.repeat(70), 'я'.repeat(71));
    expect(compare(texts)).toEqual([]);
  });

  it('differs only where we normalise CR: "a\r\nb" is 3 characters to us, 4 to Twilio', () => {
    const text = `${'a'.repeat(158)}\r\nb`;
    expect(prepareSms(text, opts).smsCount).toBe(1);
    expect(new SegmentedMessage(text, 'auto', false).segmentsCount).toBe(2);
  });
});
