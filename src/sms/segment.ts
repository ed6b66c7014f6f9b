/**
 * Split an encoded text into SUBMIT_SM parts.
 *
 * udh8/udh16 put a concatenation header in short_message (esm_class UDHI); sar carries the same facts in TLVs and
 * lets the SMSC build the header, so its parts keep room for the 16-bit header a 16-bit sar_msg_ref_num needs;
 * payload sends the whole text in one message_payload TLV and the SMSC splits it (as udh8 would: that is what
 * the user pays for).
 */
import type { Atom, Coding } from './encode.js';

export type Concatenation = 'udh8' | 'udh16' | 'sar' | 'payload';

export interface SarInfo {
  ref: number;
  total: number;
  seq: number;
}

export interface SmsPart {
  /** Concatenation user data header; empty when there is none. Non-empty means esm_class UDHI (0x40). */
  udh: Buffer;
  /** Encoded text of this part. */
  body: Buffer;
  /** Septets, octets or UTF-16 units in `body`. */
  units: number;
  sar?: SarInfo;
  /** The body goes in the message_payload TLV, short_message stays empty. */
  payload: boolean;
}

export interface Segmentation {
  parts: SmsPart[];
  /** SMS the subscriber receives and the sender pays for (for payload: what the SMSC will make of it). */
  smsCount: number;
}

type Limits = Record<Coding, number>;

export const SINGLE_LIMITS: Limits = { gsm7: 160, latin1: 140, ucs2: 70 };
const UDH8_LIMITS: Limits = { gsm7: 153, latin1: 134, ucs2: 67 };
const UDH16_LIMITS: Limits = { gsm7: 152, latin1: 133, ucs2: 66 };

export const PART_LIMITS: Record<Concatenation, Limits> = {
  udh8: UDH8_LIMITS,
  udh16: UDH16_LIMITS,
  sar: UDH16_LIMITS,
  payload: UDH8_LIMITS,
};

/** message_payload is a 16-bit-length TLV. */
export const MAX_PAYLOAD_BYTES = 0xffff;

/** Greedy split that never breaks an atom (escape pair, surrogate pair) across parts. */
export function splitAtoms(atoms: readonly Atom[], perPart: number): Atom[][] {
  const groups: Atom[][] = [];
  let current: Atom[] = [];
  let used = 0;
  for (const atom of atoms) {
    if (used + atom.units > perPart && current.length > 0) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(atom);
    used += atom.units;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  return groups;
}

function unitsOf(atoms: readonly Atom[]): number {
  let n = 0;
  for (const a of atoms) n += a.units;
  return n;
}

function bytesOf(atoms: readonly Atom[]): Buffer {
  const out: number[] = [];
  for (const a of atoms) out.push(...a.bytes);
  return Buffer.from(out);
}

/** Number of SMS the text costs with this concatenation, without building the parts. */
export function countSms(atoms: readonly Atom[], coding: Coding, concat: Concatenation): number {
  if (unitsOf(atoms) <= SINGLE_LIMITS[coding]) return 1;
  return splitAtoms(atoms, PART_LIMITS[concat][coding]).length;
}

function udh(concat: 'udh8' | 'udh16', ref: number, total: number, seq: number): Buffer {
  return concat === 'udh8'
    ? Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq])
    : Buffer.from([0x06, 0x08, 0x04, (ref >> 8) & 0xff, ref & 0xff, total, seq]);
}

/**
 * Build the parts. `ref` is this message's concatenation reference (the caller makes it differ between messages;
 * udh8 uses its low 8 bits).
 */
export function segment(atoms: readonly Atom[], coding: Coding, concat: Concatenation, ref: number): Segmentation {
  const total = unitsOf(atoms);
  if (total <= SINGLE_LIMITS[coding]) {
    return { parts: [{ udh: Buffer.alloc(0), body: bytesOf(atoms), units: total, payload: false }], smsCount: 1 };
  }
  const groups = splitAtoms(atoms, PART_LIMITS[concat][coding]);
  if (groups.length > 255) throw new RangeError(`text needs ${groups.length} parts; concatenation allows 255`);
  if (concat === 'payload') {
    const body = bytesOf(atoms);
    if (body.length > MAX_PAYLOAD_BYTES)
      throw new RangeError(`text is ${body.length} bytes; message_payload allows ${MAX_PAYLOAD_BYTES}`);
    return { parts: [{ udh: Buffer.alloc(0), body, units: total, payload: true }], smsCount: groups.length };
  }
  const parts = groups.map((group, i): SmsPart => {
    const seq = i + 1;
    const base = { body: bytesOf(group), units: unitsOf(group), payload: false };
    return concat === 'sar'
      ? { ...base, udh: Buffer.alloc(0), sar: { ref: ref & 0xffff, total: groups.length, seq } }
      : { ...base, udh: udh(concat, ref, groups.length, seq) };
  });
  return { parts, smsCount: parts.length };
}

/** Concatenation references: a random start, then +1 per message, so two messages in flight never share one. */
export function createRefCounter(start = Math.floor(Math.random() * 0x10000)): () => number {
  let next = start & 0xffff;
  return () => {
    const ref = next;
    next = (next + 1) & 0xffff;
    return ref;
  };
}

/** The same parts under another concatenation reference (a composite sent again whole must not reuse it). */
export function rereference(parts: readonly SmsPart[], ref: number): SmsPart[] {
  return parts.map((p) => {
    const udh = Buffer.from(p.udh);
    if (udh.length === 6 && udh[1] === 0x00) udh[3] = ref & 0xff;
    if (udh.length === 7 && udh[1] === 0x08) udh.writeUInt16BE(ref & 0xffff, 3);
    return { ...p, udh, ...(p.sar ? { sar: { ...p.sar, ref: ref & 0xffff } } : {}) };
  });
}
