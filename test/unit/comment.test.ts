import { describe, expect, it } from 'vitest';
import { decodeBytes } from '../../src/sms/encode.js';
import { withSmscComment } from '../../src/sms/comment.js';
import { prepareSms, type SmsOptions } from '../../src/sms/prepare.js';
import { SMS_OPTIONS } from '../helpers/options.js';

const opts: SmsOptions = { ...SMS_OPTIONS, profile: 'smsc' };

describe('comments for SMS Center', () => {
  it('appends "\\n~~~\\n" + comment; parts and coding are those of the visible text', () => {
    const sms = withSmscComment(prepareSms('Ваш код подтверждения: 4711', opts), 'заказ 77, клиент Иванов', opts);
    expect([sms.coding, sms.smsCount]).toEqual(['ucs2', 1]);
    expect(decodeBytes(sms.parts[0]!.body, 8, {})).toBe('Ваш код подтверждения: 4711\n~~~\nзаказ 77, клиент Иванов');
    expect(sms.parts[0]!.payload).toBe(false);
  });

  it('a GSM text keeps GSM: the comment is transliterated, unknown characters become ?', () => {
    const sms = withSmscComment(prepareSms('Code 4711', opts), 'клиент Иванов 😀', opts);
    expect(sms.coding).toBe('gsm7');
    expect(decodeBytes(sms.parts[0]!.body, 0, {})).toBe('Code 4711\n~~~\nklient Ivanov ?');
  });

  it('goes as one message_payload when the comment pushes it past one SMS or the text is long', () => {
    const long = withSmscComment(prepareSms('a'.repeat(150), opts), 'b'.repeat(20), opts);
    expect(long.parts).toHaveLength(1);
    expect(long.parts[0]!.payload).toBe(true);
    expect(long.smsCount).toBe(1);
    const multi = withSmscComment(prepareSms('a'.repeat(400), opts), 'note', opts);
    expect([multi.parts.length, multi.parts[0]!.payload, multi.smsCount]).toEqual([1, true, 3]);
    expect(decodeBytes(multi.parts[0]!.body, 0, {})).toBe(`${'a'.repeat(400)}\n~~~\nnote`);
  });

  it('no comment: unchanged', () => {
    const sms = prepareSms('x', opts);
    expect(withSmscComment(sms, '  ', opts)).toBe(sms);
  });
});
