/**
 * Concatenated SMS from phones (replies, issue 15): the concatenation header is read off the bytes (UDH IEI 0x00
 * 8-bit or 0x08 16-bit reference, or the SAR TLVs), parts are kept until all have come, and the text is decoded
 * from the joined bytes, so a UCS-2 surrogate pair or a GSM escape split over two parts reads as one character and
 * header bytes are never read as text. Parts that never complete are given out as they are, in order with the gaps
 * marked, after a timeout. Pure apart from the parts held: the clock is passed in.
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

interface Pending extends PartMeta {
  total: number;
  firstAt: number;
  parts: Map<number, Buffer>;
}

export class Reassembler {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly timeoutMs: number,
    private readonly systemType: string | undefined,
  ) {}

  /** A part in: the message it completes (a part that is not concatenated is complete by itself), else nothing. */
  add(meta: PartMeta, part: IncomingPart, now: number): Reassembled | undefined {
    if (!part.concat || part.concat.total === 1) return this.done(meta, [part.body], []);
    const { ref, total, seq } = part.concat;
    // One phone's references restart and collide with another's: the key is the pair of addresses too.
    const key = `${meta.from}\u0000${meta.to}\u0000${ref}\u0000${total}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { ...meta, total, firstAt: now, parts: new Map() };
      this.pending.set(key, p);
    }
    p.parts.set(seq, part.body); // a resent part replaces the earlier copy
    if (p.parts.size < total) return undefined;
    this.pending.delete(key);
    return this.assemble(p);
  }

  /** Messages whose first part came `timeoutMs` ago or more and are still incomplete: given out as they are. */
  expire(now: number): Reassembled[] {
    const out: Reassembled[] = [];
    for (const [key, p] of this.pending) {
      if (now - p.firstAt < this.timeoutMs) continue;
      this.pending.delete(key);
      out.push(this.assemble(p));
    }
    return out;
  }

  /** Earliest time expire() has something to give out. */
  nextExpiry(): number | undefined {
    let min: number | undefined;
    for (const p of this.pending.values())
      min = min === undefined ? p.firstAt + this.timeoutMs : Math.min(min, p.firstAt + this.timeoutMs);
    return min;
  }

  get size(): number {
    return this.pending.size;
  }

  private assemble(p: Pending): Reassembled {
    // Runs of consecutive parts are joined as bytes before decoding (a character may straddle two parts).
    const runs: Buffer[] = [];
    const missing: number[] = [];
    let run: Buffer[] = [];
    for (let seq = 1; seq <= p.total; seq++) {
      const body = p.parts.get(seq);
      if (body) run.push(body);
      else {
        // One mark for a run of missing parts.
        if (!missing.includes(seq - 1)) runs.push(Buffer.concat(run));
        missing.push(seq);
        run = [];
      }
    }
    runs.push(Buffer.concat(run));
    return this.done(p, runs, missing);
  }

  private done(meta: PartMeta, runs: Buffer[], missing: number[]): Reassembled {
    const text = runs.map((b) => decodeBytes(b, meta.dataCoding, { systemType: this.systemType })).join(GAP);
    return { from: meta.from, to: meta.to, dataCoding: meta.dataCoding, text, missing };
  }
}
