import { describe, expect, it } from 'vitest';
import { decodeGsm, GSM_DEFAULT_CHARS, GSM_EXTENSION_CHARS, gsmSeptets, isGsmText } from '../../src/sms/gsm7.js';

// 3GPP TS 23.038 § 6.2.1, written out independently of the table in the source, row by row (0x00–0x7F).
const SPEC_DEFAULT: Array<[number, string]> = [
  [0x00, '@'],
  [0x01, '£'],
  [0x02, '$'],
  [0x03, '¥'],
  [0x04, 'è'],
  [0x05, 'é'],
  [0x06, 'ù'],
  [0x07, 'ì'],
  [0x08, 'ò'],
  [0x09, 'Ç'],
  [0x0a, '\n'],
  [0x0b, 'Ø'],
  [0x0c, 'ø'],
  [0x0d, '\r'],
  [0x0e, 'Å'],
  [0x0f, 'å'],
  [0x10, 'Δ'],
  [0x11, '_'],
  [0x12, 'Φ'],
  [0x13, 'Γ'],
  [0x14, 'Λ'],
  [0x15, 'Ω'],
  [0x16, 'Π'],
  [0x17, 'Ψ'],
  [0x18, 'Σ'],
  [0x19, 'Θ'],
  [0x1a, 'Ξ'],
  [0x1c, 'Æ'],
  [0x1d, 'æ'],
  [0x1e, 'ß'],
  [0x1f, 'É'],
  [0x20, ' '],
  [0x21, '!'],
  [0x22, '"'],
  [0x23, '#'],
  [0x24, '¤'],
  [0x25, '%'],
  [0x26, '&'],
  [0x27, "'"],
  [0x28, '('],
  [0x29, ')'],
  [0x2a, '*'],
  [0x2b, '+'],
  [0x2c, ','],
  [0x2d, '-'],
  [0x2e, '.'],
  [0x2f, '/'],
  ...[...'0123456789'].map((c, i): [number, string] => [0x30 + i, c]),
  [0x3a, ':'],
  [0x3b, ';'],
  [0x3c, '<'],
  [0x3d, '='],
  [0x3e, '>'],
  [0x3f, '?'],
  [0x40, '¡'],
  ...[...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c, i): [number, string] => [0x41 + i, c]),
  [0x5b, 'Ä'],
  [0x5c, 'Ö'],
  [0x5d, 'Ñ'],
  [0x5e, 'Ü'],
  [0x5f, '§'],
  [0x60, '¿'],
  ...[...'abcdefghijklmnopqrstuvwxyz'].map((c, i): [number, string] => [0x61 + i, c]),
  [0x7b, 'ä'],
  [0x7c, 'ö'],
  [0x7d, 'ñ'],
  [0x7e, 'ü'],
  [0x7f, 'à'],
];
const SPEC_EXTENSION: Array<[number, string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

describe('GSM 03.38 default alphabet', () => {
  it('has all 127 characters (128 codes less the escape)', () => {
    expect(SPEC_DEFAULT).toHaveLength(127);
    expect(GSM_DEFAULT_CHARS).toHaveLength(127);
  });

  it.each(SPEC_DEFAULT)('septet 0x%s encodes and decodes %j', (code, ch) => {
    expect(gsmSeptets(ch)).toEqual([code]);
    expect(decodeGsm(Uint8Array.of(code))).toBe(ch);
  });
});

describe('GSM 03.38 extension table', () => {
  it('has the ten extension characters', () => {
    expect([...GSM_EXTENSION_CHARS].sort()).toEqual(SPEC_EXTENSION.map(([, c]) => c).sort());
  });

  it.each(SPEC_EXTENSION)('escape + 0x%s is %j and costs two septets', (code, ch) => {
    expect(gsmSeptets(ch)).toEqual([0x1b, code]);
    expect(decodeGsm(Uint8Array.of(0x1b, code))).toBe(ch);
  });

  it('decodes an unknown escape as the default character and a trailing escape as a space', () => {
    expect(decodeGsm(Uint8Array.of(0x1b, 0x41))).toBe('A');
    expect(decodeGsm(Uint8Array.of(0x41, 0x1b))).toBe('A ');
  });
});

describe('refusing what GSM cannot carry', () => {
  it.each(['я', '’', '😀', 'ç', '`', 'â', '\t'])('%j is not GSM and is never substituted', (ch) => {
    expect(isGsmText(`abc${ch}`)).toBe(false);
    expect(gsmSeptets(ch)).toBeUndefined();
  });
});
