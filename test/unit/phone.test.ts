import { describe, expect, it } from 'vitest';
import { parsePhone, PhoneError } from '../../src/sms/phone.js';
import { parseSender } from '../../src/sms/sender.js';

describe('recipient numbers (default region RU)', () => {
  it.each([
    '+79991234567',
    '79991234567',
    '89991234567',
    '+7-999-123-45-67',
    '+7.999.123.45.67',
    '0079991234567',
    '81079991234567',
    '+7 (999) 123-45-67',
    ' 8 999 123 45 67 ',
  ])('%j → 79991234567, TON 1 NPI 1', (input) => {
    expect(parsePhone(input, 'RU')).toEqual({ digits: '79991234567', ton: 1, npi: 1, country: 'RU' });
  });

  it('accepts foreign numbers with +, 00, or bare international digits', () => {
    expect(parsePhone('+44 7911 123456', 'RU').digits).toBe('447911123456');
    expect(parsePhone('00447911123456', 'RU').digits).toBe('447911123456');
    expect(parsePhone('380501234567', 'RU').digits).toBe('380501234567');
  });

  it('uses the configured region for national forms', () => {
    expect(parsePhone('01512 3456789', 'DE').digits).toBe('4915123456789');
    expect(parsePhone('07911 123456', 'GB').digits).toBe('447911123456');
  });

  it.each([
    ['', 'empty'],
    ['8999CALLME', 'contains letters'],
    ['79991234567x', 'contains letters'],
    ['7999#1234567', 'characters other than digits'],
    ['123', 'too short'],
    ['+7999123456789012', 'too long'],
    ['+999123456789', 'unknown country code'],
    ['+7 000 000 00 00', 'not a valid number for country code +7'],
  ])('%j is refused: %s', (input, reason) => {
    let error: unknown;
    try {
      parsePhone(input, 'RU');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PhoneError);
    expect((error as PhoneError).message).toContain(reason);
    expect(error).toMatchObject({ responseCode: 550, enhanced: '5.1.1' });
  });
});

describe('sender (source_addr)', () => {
  it.each([
    ['Alerts', { addr: 'Alerts', ton: 5, npi: 0, kind: 'alphanumeric' }],
    ['ACME Ops', { addr: 'ACME Ops', ton: 5, npi: 0, kind: 'alphanumeric' }],
    ['ElevenChars', { addr: 'ElevenChars', ton: 5, npi: 0, kind: 'alphanumeric' }],
    ['79991234567', { addr: '79991234567', ton: 1, npi: 1, kind: 'international' }],
    ['+79991234567', { addr: '79991234567', ton: 1, npi: 1, kind: 'international' }],
    ['123456789012345', { addr: '123456789012345', ton: 1, npi: 1, kind: 'international' }],
    ['4242', { addr: '4242', ton: 3, npi: 0, kind: 'shortcode' }],
    ['123', { addr: '123', ton: 3, npi: 0, kind: 'shortcode' }],
    ['12345678', { addr: '12345678', ton: 3, npi: 0, kind: 'shortcode' }],
  ])('%j', (input, expected) => {
    expect(parseSender(input)).toEqual(expected);
  });

  it('TON/NPI can be forced (a provider that wants TON 5 NPI 1 for names)', () => {
    expect(parseSender('Alerts', { ton: 5, npi: 1 })).toMatchObject({ ton: 5, npi: 1 });
    expect(parseSender('4242', { ton: 0 })).toMatchObject({ ton: 0, npi: 0 });
  });

  it.each([
    ['', /empty/],
    ['TwelveChars!', /at most 11 characters|may hold only/],
    ['TwelveCharsX', /at most 11 characters, this one has 12/],
    ['1234567890123456', /at most 15 digits/],
    ['12', /at least 3 digits/],
    ['Привет', /at least one Latin letter/],
    ['Ops#1', /may hold only/],
  ])('%j is refused', (input, reason) => {
    expect(() => parseSender(input)).toThrow(reason);
  });
});
