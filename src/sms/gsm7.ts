/**
 * GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and its extension table.
 *
 * SMPP carries GSM text unpacked: one septet per octet, so the packed air-interface form is never built here.
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
