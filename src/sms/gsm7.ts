/**
 * GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and its extension table.
 *
 * SMPP carries GSM text unpacked: one septet per octet. `pack7`/`unpack7` exist for SMSCs and tools that want the
 * packed air-interface form (and to verify septet counts against it).
 */

/** Index = septet value; the string is the character for that septet. 0x1B is the escape to the extension table. */
const DEFAULT_ALPHABET =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** Extension table: character → septet that follows the 0x1B escape. Each costs two septets. */
const EXTENSION: ReadonlyArray<readonly [string, number]> = [
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
];

export const ESCAPE = 0x1b;

const toDefault = new Map<string, number>();
for (let i = 0; i < DEFAULT_ALPHABET.length; i++) {
  if (i !== ESCAPE) toDefault.set(DEFAULT_ALPHABET[i] as string, i);
}
const toExtension = new Map<string, number>(EXTENSION);
const fromExtension = new Map<number, string>(EXTENSION.map(([ch, code]) => [code, ch]));

if (DEFAULT_ALPHABET.length !== 128) throw new Error('GSM default alphabet table must have 128 entries');

/** Every character of the default alphabet (without the escape), in septet order. */
export const GSM_DEFAULT_CHARS: readonly string[] = [...toDefault.keys()];
/** Every character of the extension table. */
export const GSM_EXTENSION_CHARS: readonly string[] = EXTENSION.map(([ch]) => ch);

/** Septets for one character (one code point), or undefined when GSM cannot carry it. */
export function gsmSeptets(ch: string): number[] | undefined {
  const d = toDefault.get(ch);
  if (d !== undefined) return [d];
  const e = toExtension.get(ch);
  if (e !== undefined) return [ESCAPE, e];
  return undefined;
}

export function isGsmChar(ch: string): boolean {
  return toDefault.has(ch) || toExtension.has(ch);
}

/** True when every code point of `text` is in the default alphabet or the extension table. */
export function isGsmText(text: string): boolean {
  for (const ch of text) if (!isGsmChar(ch)) return false;
  return true;
}

/** Number of septets `text` needs (extension characters count two). Throws on a character GSM cannot carry. */
export function gsmLength(text: string): number {
  let n = 0;
  for (const ch of text) {
    const s = gsmSeptets(ch);
    if (!s) throw new RangeError(`character U+${ch.codePointAt(0)!.toString(16).toUpperCase()} is not in GSM 03.38`);
    n += s.length;
  }
  return n;
}

/** Encode to unpacked septets (one per octet). Throws on a character GSM cannot carry: never substitutes. */
export function encodeGsm(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const s = gsmSeptets(ch);
    if (!s) throw new RangeError(`character U+${ch.codePointAt(0)!.toString(16).toUpperCase()} is not in GSM 03.38`);
    out.push(...s);
  }
  return Buffer.from(out);
}

/**
 * Decode unpacked septets. An escape followed by an unknown code decodes as the default-table character of that
 * code, as 23.038 asks receivers to do; a trailing lone escape decodes as a space.
 */
export function decodeGsm(septets: Uint8Array): string {
  let out = '';
  for (let i = 0; i < septets.length; i++) {
    const s = (septets[i] as number) & 0x7f;
    if (s === ESCAPE) {
      const next = septets[i + 1];
      if (next === undefined) {
        out += ' ';
        break;
      }
      i++;
      out += fromExtension.get(next & 0x7f) ?? (DEFAULT_ALPHABET[next & 0x7f] as string);
      continue;
    }
    out += DEFAULT_ALPHABET[s] as string;
  }
  return out;
}

/**
 * Pack septets into octets, LSB first (23.038 § 6.1.2.1). `fillBits` (0–6) leading zero bits align the text after
 * a UDH to a septet boundary.
 */
export function pack7(septets: Uint8Array, fillBits = 0): Buffer {
  const totalBits = fillBits + septets.length * 7;
  const out = Buffer.alloc(Math.ceil(totalBits / 8));
  let bit = fillBits;
  for (const s of septets) {
    const v = s & 0x7f;
    const byte = bit >> 3;
    const shift = bit & 7;
    out[byte] = (out[byte] as number) | ((v << shift) & 0xff);
    if (shift > 1) out[byte + 1] = (out[byte + 1] as number) | (v >> (8 - shift));
    bit += 7;
  }
  return out;
}

/** Inverse of pack7: read `count` septets after `fillBits` leading bits. */
export function unpack7(octets: Uint8Array, count: number, fillBits = 0): Buffer {
  const out = Buffer.alloc(count);
  let bit = fillBits;
  for (let i = 0; i < count; i++) {
    const byte = bit >> 3;
    const shift = bit & 7;
    let v = (octets[byte] ?? 0) >> shift;
    if (shift > 1) v |= (octets[byte + 1] ?? 0) << (8 - shift);
    out[i] = v & 0x7f;
    bit += 7;
  }
  return out;
}
