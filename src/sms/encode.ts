/**
 * Choose how a text travels: GSM 7-bit when it can, Latin-1 when configured and it can, else UCS-2. Never
 * substitutes `?` or `@` for a character: a text that GSM cannot carry goes in an encoding that can.
 */
import { decodeGsm, gsmSeptets, isGsmText } from './gsm7.js';
import { smartReplace, type Replacement } from './smart.js';
import { hasCyrillic, transliterate } from './translit.js';

export type Coding = 'gsm7' | 'latin1' | 'ucs2';
export type Profile = 'generic' | 'smsc';

export interface EncodeOptions {
  /** `generic`: SMPP 3.4 data_coding (Latin-1 = 3); `smsc`: SMS Center's `coding * 4` (Latin-1 = 4). */
  profile: Profile;
  /** `ISO` (SMS Center): data_coding 0 carries ISO-8859-1 bytes instead of GSM septets. */
  systemType?: string | undefined;
  /** Use ISO-8859-1 for text that GSM cannot carry but Latin-1 can (140 characters a part instead of 70). */
  allowLatin1: boolean;
  smartEncoding: boolean;
  transliterate: boolean;
}

/**
 * One code point as the SMSC counts and carries it. Segmentation never splits an atom, so a GSM escape pair or a
 * UTF-16 surrogate pair always stays in one part.
 */
export interface Atom {
  /** Septets (GSM), octets (Latin-1) or UTF-16 code units (UCS-2) this character costs. */
  units: number;
  bytes: readonly number[];
}

export interface EncodedText {
  /** What the subscriber will read: normalised, after any replacements. */
  text: string;
  coding: Coding;
  dataCoding: number;
  /** Smart-encoding replacements made (empty when none were needed to reach a cheaper coding). */
  replacements: Replacement[];
  transliterated: boolean;
  atoms: Atom[];
}

export const CODING_NAMES: Record<Coding, string> = { gsm7: 'GSM', latin1: 'Latin-1', ucs2: 'UCS-2' };

const DATA_CODING: Record<Profile, Record<Coding, number>> = {
  generic: { gsm7: 0x00, latin1: 0x03, ucs2: 0x08 },
  smsc: { gsm7: 0x00, latin1: 0x04, ucs2: 0x08 },
};

export function isIsoSystemType(systemType: string | undefined): boolean {
  return (systemType ?? '').trim().toUpperCase() === 'ISO';
}

/** Canonical form for counting: composed characters (a macOS `e` + U+0301 is GSM `é`) and LF line ends. */
export function normaliseText(text: string): string {
  return text.normalize('NFC').replace(/\r\n?/g, '\n');
}

function isLatin1Char(ch: string): boolean {
  const cp = ch.codePointAt(0) as number;
  // C1 controls are Latin-1 code points but no phone shows them.
  return cp <= 0xff && !(cp >= 0x80 && cp <= 0x9f);
}

function isLatin1Text(text: string): boolean {
  for (const ch of text) if (!isLatin1Char(ch)) return false;
  return true;
}

/** Can data_coding 0 carry this text? Under system_type ISO it must be GSM *and* Latin-1 (no €, no Greek). */
function fitsDefault(text: string, iso: boolean): boolean {
  return isGsmText(text) && (!iso || isLatin1Text(text));
}

function gsmAtoms(text: string, iso: boolean): Atom[] {
  const atoms: Atom[] = [];
  for (const ch of text) {
    const septets = gsmSeptets(ch) as number[];
    // Under ISO the SMSC transcodes Latin-1 to GSM for the air, so parts are still counted in septets.
    atoms.push({ units: septets.length, bytes: iso ? [ch.codePointAt(0) as number] : septets });
  }
  return atoms;
}

function latin1Atoms(text: string): Atom[] {
  return [...text].map((ch) => ({ units: 1, bytes: [ch.codePointAt(0) as number] }));
}

function ucs2Atoms(text: string): Atom[] {
  const atoms: Atom[] = [];
  for (const ch of text) {
    const bytes: number[] = [];
    for (let i = 0; i < ch.length; i++) {
      const unit = ch.charCodeAt(i);
      bytes.push(unit >> 8, unit & 0xff);
    }
    atoms.push({ units: ch.length, bytes });
  }
  return atoms;
}

interface Candidate {
  text: string;
  replacements: Replacement[];
  transliterated: boolean;
}

/**
 * Cheaper-coding candidates in order of preference. Replacements are only made when they let the text reach a
 * cheaper coding: a text that goes as UCS-2 anyway keeps its original quotes and dashes.
 */
function candidates(text: string, opts: EncodeOptions): Candidate[] {
  const list: Candidate[] = [{ text, replacements: [], transliterated: false }];
  let base = list[0] as Candidate;
  if (opts.smartEncoding) {
    const smart = smartReplace(text);
    if (smart.replacements.length > 0) {
      base = { text: smart.text, replacements: smart.replacements, transliterated: false };
      list.push(base);
    }
  }
  if (opts.transliterate && hasCyrillic(base.text)) {
    list.push({ ...base, text: transliterate(base.text), transliterated: true });
  }
  return list;
}

/** Atoms of `text` in a coding already chosen; undefined when that coding cannot carry the text. */
export function atomsIn(text: string, coding: Coding, systemType: string | undefined): Atom[] | undefined {
  const iso = isIsoSystemType(systemType);
  switch (coding) {
    case 'gsm7':
      return fitsDefault(text, iso) ? gsmAtoms(text, iso) : undefined;
    case 'latin1':
      return isLatin1Text(text) ? latin1Atoms(text) : undefined;
    case 'ucs2':
      return ucs2Atoms(text);
  }
}

export function encodeText(input: string, opts: EncodeOptions): EncodedText {
  const text = normaliseText(input);
  const iso = isIsoSystemType(opts.systemType);
  const dc = DATA_CODING[opts.profile];
  const options = candidates(text, opts);

  const gsm = options.find((c) => fitsDefault(c.text, iso));
  if (gsm) return { ...gsm, coding: 'gsm7', dataCoding: dc.gsm7, atoms: gsmAtoms(gsm.text, iso) };

  if (opts.allowLatin1) {
    const latin = options.find((c) => isLatin1Text(c.text));
    if (latin) return { ...latin, coding: 'latin1', dataCoding: dc.latin1, atoms: latin1Atoms(latin.text) };
  }

  return {
    text,
    replacements: [],
    transliterated: false,
    coding: 'ucs2',
    dataCoding: dc.ucs2,
    atoms: ucs2Atoms(text),
  };
}

/** Decode the bytes of one part back to text (tests, the simulator, `encode --json`). */
export function decodeBytes(bytes: Uint8Array, dataCoding: number, opts: { systemType?: string | undefined }): string {
  const buf = Buffer.from(bytes);
  if (dataCoding === 0x08) return decodeUcs2(buf);
  if (dataCoding === 0x00 && !isIsoSystemType(opts.systemType)) return decodeGsm(buf);
  return buf.toString('latin1');
}

function decodeUcs2(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 1 < buf.length; i += 2) out += String.fromCharCode(buf.readUInt16BE(i));
  return out;
}
