import { describe, expect, it } from 'vitest';
import { decodeBytes, encodeText, type EncodeOptions } from '../../src/sms/encode.js';

const base: EncodeOptions = { profile: 'generic', allowLatin1: false, smartEncoding: true, transliterate: false };
const bytesOf = (text: string, opts: Partial<EncodeOptions> = {}) =>
  Buffer.from(encodeText(text, { ...base, ...opts }).atoms.flatMap((a) => [...a.bytes]));

describe('choosing the encoding', () => {
  it('GSM when every character is GSM', () => {
    const e = encodeText('Hello @ £5 {x}', base);
    expect(e.coding).toBe('gsm7');
    expect(e.dataCoding).toBe(0);
  });

  it('UCS-2 for Cyrillic and emoji, with surrogate pairs kept', () => {
    const e = encodeText('Привет 😀', base);
    expect(e.coding).toBe('ucs2');
    expect(e.dataCoding).toBe(8);
    expect(bytesOf('😀').toString('hex')).toBe('d83dde00');
    expect(e.atoms.at(-1)).toEqual({ units: 2, bytes: [0xd8, 0x3d, 0xde, 0x00] });
  });

  it('Latin-1 only when allowed: data_coding 3 generic, 4 smsc', () => {
    expect(encodeText('Crème brûlée', base).coding).toBe('ucs2');
    const generic = encodeText('Crème brûlée', { ...base, allowLatin1: true });
    expect([generic.coding, generic.dataCoding]).toEqual(['latin1', 3]);
    const smsc = encodeText('Crème brûlée', { ...base, profile: 'smsc', allowLatin1: true });
    expect([smsc.coding, smsc.dataCoding]).toEqual(['latin1', 4]);
    expect(bytesOf('û', { allowLatin1: true })).toEqual(Buffer.from([0xfb]));
  });

  it('profile smsc: GSM 0, UCS-2 8', () => {
    expect(encodeText('abc', { ...base, profile: 'smsc' }).dataCoding).toBe(0);
    expect(encodeText('абв', { ...base, profile: 'smsc' }).dataCoding).toBe(8);
  });

  it('system_type ISO: data_coding 0 carries Latin-1 bytes, still counted in septets', () => {
    const e = encodeText('{Hello} é_ü', { ...base, profile: 'smsc', systemType: 'ISO' });
    expect([e.coding, e.dataCoding]).toEqual(['gsm7', 0]);
    expect(bytesOf('{Hello} é_ü', { profile: 'smsc', systemType: 'iso' })).toEqual(
      Buffer.from('{Hello} é_ü', 'latin1'),
    );
    expect(e.atoms.reduce((n, a) => n + a.units, 0)).toBe(13); // { and } are two septets each
    expect(decodeBytes(bytesOf('{é}', { systemType: 'ISO' }), 0, { systemType: 'ISO' })).toBe('{é}');
  });

  it('system_type ISO: € and Greek capitals (GSM, not Latin-1) go as UCS-2, never as a wrong byte', () => {
    for (const text of ['5 €', 'ΔΣ']) {
      const e = encodeText(text, { ...base, profile: 'smsc', systemType: 'ISO' });
      expect(e.coding).toBe('ucs2');
    }
  });

  it('normalises decomposed accents and CRLF', () => {
    const e = encodeText('Cafe\u0301\r\nok\rend', base);
    expect(e.coding).toBe('gsm7');
    expect(e.text).toBe('Café\nok\nend');
  });
});

describe('smart encoding', () => {
  it('replaces look-alikes when that makes the text GSM and reports each', () => {
    const e = encodeText('It’s “done” – 5\u00a0min…', base);
    expect(e.coding).toBe('gsm7');
    expect(e.text).toBe('It\'s "done" - 5 min...');
    expect(e.replacements).toEqual([
      { from: '’', to: "'", count: 1 },
      { from: '“', to: '"', count: 1 },
      { from: '”', to: '"', count: 1 },
      { from: '–', to: '-', count: 1 },
      { from: '\u00a0', to: ' ', count: 1 },
      { from: '…', to: '...', count: 1 },
    ]);
  });

  it('leaves a text that needs UCS-2 anyway as written', () => {
    const e = encodeText('Привет – it’s me', base);
    expect(e.coding).toBe('ucs2');
    expect(e.text).toBe('Привет – it’s me');
    expect(e.replacements).toEqual([]);
  });

  it('off: one ’ makes UCS-2', () => {
    expect(encodeText('it’s', { ...base, smartEncoding: false }).coding).toBe('ucs2');
  });

  it('does not touch letters with diacritics', () => {
    expect(encodeText('São Paulo', base).coding).toBe('ucs2');
  });
});

describe('transliteration', () => {
  const opts = { ...base, transliterate: true };
  it('turns Russian into GSM Latin', () => {
    const e = encodeText('Привет, Щука! ЖУК съел ёжика', opts);
    expect(e.coding).toBe('gsm7');
    expect(e.transliterated).toBe(true);
    expect(e.text).toBe('Privet, Schuka! ZHUK sel yozhika');
  });

  it('keeps Cyrillic when the text needs UCS-2 anyway (emoji)', () => {
    const e = encodeText('Привет 😀', opts);
    expect(e.coding).toBe('ucs2');
    expect(e.text).toBe('Привет 😀');
    expect(e.transliterated).toBe(false);
  });

  it('combines with smart encoding', () => {
    expect(encodeText('Код – 4711', opts).text).toBe('Kod - 4711');
  });
});
