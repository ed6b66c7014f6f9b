/**
 * Concatenated SMS from phones (replies): the concatenation header is read off the bytes (UDH IEI 0x00
 * 8-bit or 0x08 16-bit reference, or the SAR TLVs), parts are kept until all have come, and the text is decoded
 * from the joined bytes, so a UCS-2 surrogate pair or a GSM escape split over two parts reads as one character and
 * header bytes are never read as text. Parts that never complete are given out as they are, in order with the gaps
 * marked, after a timeout. Pure: the parts waiting are held by the spool (a restart or crash between two parts
 * loses none, the SMSC having had its acks), which hands them in here.
 */
import { decodeBytes } from './encode.js';

export interface Concat {
  ref: number;
  total: number;
  /** 1-based, as on the air. */
  seq: number;
}

/** One DELIVER_SM's text bytes (header removed) and its place in a concatenated message, when it has one. */
export interface IncomingPart {
  body: Buffer;
  concat: Concat | undefined;
}

export interface SarTlvs {
  sar_msg_ref_num?: unknown;
  sar_total_segments?: unknown;
  sar_segment_seqnum?: unknown;
}

/** A UDH's concatenation element (IEI 0x00 or 0x08); other elements (ports, indications) are skipped. */
function concatFromUdh(udh: Buffer): Concat | undefined {
  for (let i = 0; i + 1 < udh.length; ) {
    const iei = udh[i] as number;
    const len = udh[i + 1] as number;
    const data = udh.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && len === 3)
      return valid({ ref: data[0] as number, total: data[1] as number, seq: data[2] as number });
    if (iei === 0x08 && len === 4)
      return valid({ ref: data.readUInt16BE(0), total: data[2] as number, seq: data[3] as number });
    i += 2 + len;
  }
  return undefined;
}

/** total 0, or a seq outside 1..total, is no concatenation (3GPP TS 23.040 9.2.3.24.1: "ignore the element"). */
const valid = (c: Concat): Concat | undefined => (c.total >= 1 && c.seq >= 1 && c.seq <= c.total ? c : undefined);

/** esm_class bit 0x40: short_message starts with a UDH (its length byte first). */
export function readPart(esmClass: number, bytes: Buffer, tlvs: SarTlvs = {}): IncomingPart {
  if (esmClass & 0x40 && bytes.length > 0) {
    const udhLength = bytes[0] as number;
    const udh = bytes.subarray(1, 1 + udhLength);
    return { body: bytes.subarray(1 + udhLength), concat: concatFromUdh(udh) };
  }
  const [ref, total, seq] = [tlvs.sar_msg_ref_num, tlvs.sar_total_segments, tlvs.sar_segment_seqnum].map(Number);
  const sar = Number.isInteger(ref) && Number.isInteger(total) && Number.isInteger(seq);
  return {
    body: bytes,
    concat: sar ? valid({ ref: ref as number, total: total as number, seq: seq as number }) : undefined,
  };
}

/** A whole message (or what came of one) ready to be handled as one reply. */
export interface Reassembled {
  from: string;
  to: string;
  dataCoding: number;
  text: string;
  /** Parts that never came, 1-based (empty when complete). */
  missing: number[];
}

export interface PartMeta {
  from: string;
  to: string;
  dataCoding: number;
}

/** What marks the place of a part that never came in a reply given out incomplete. */
export const GAP = ' […] ';

/** A part kept in the spool until its message is complete (the store holds them: a restart loses none). */
export interface HeldPart {
  seq: number;
  body: Buffer;
}

/** The key a concatenated message's parts are kept under: a phone's references restart and collide with another's. */
export interface PartKey {
  from: string;
  to: string;
  ref: number;
  total: number;
}

/** A message that is no concatenation, or of one part: whole by itself. */
export function single(meta: PartMeta, body: Buffer, systemType: string | undefined): Reassembled {
  return done(meta, [body], [], systemType);
}

/**
 * The parts held for one message (the newest included) → the whole message once every part 1..total has come,
 * else nothing (wait for more). A resent part is held once (the store keeps one row per seq).
 */
export function complete(
  meta: PartMeta,
  total: number,
  held: readonly HeldPart[],
  systemType: string | undefined,
): Reassembled | undefined {
  const seqs = new Set(held.map((p) => p.seq).filter((s) => s >= 1 && s <= total));
  return seqs.size < total ? undefined : assemble(meta, total, held, systemType);
}

/** Whether parts that first came at `firstAt` are given out as they are at `now`. */
export const expired = (firstAt: number, now: number, timeoutMs: number): boolean => now - firstAt >= timeoutMs;

/** The message as it is: runs of consecutive parts joined as bytes before decoding, gaps marked. */
export function assemble(
  meta: PartMeta,
  total: number,
  held: readonly HeldPart[],
  systemType: string | undefined,
): Reassembled {
  const bySeq = new Map(held.map((p) => [p.seq, p.body]));
  // Bytes, not text, are joined: a character may straddle two parts.
  const runs: Buffer[] = [];
  const missing: number[] = [];
  let run: Buffer[] = [];
  for (let seq = 1; seq <= total; seq++) {
    const body = bySeq.get(seq);
    if (body) run.push(body);
    else {
      // One mark for a run of missing parts.
      if (!missing.includes(seq - 1)) runs.push(Buffer.concat(run));
      missing.push(seq);
      run = [];
    }
  }
  runs.push(Buffer.concat(run));
  return done(meta, runs, missing, systemType);
}

function done(meta: PartMeta, runs: Buffer[], missing: number[], systemType: string | undefined): Reassembled {
  const text = runs.map((b) => decodeBytes(b, meta.dataCoding, { systemType })).join(GAP);
  return { from: meta.from, to: meta.to, dataCoding: meta.dataCoding, text, missing };
}
