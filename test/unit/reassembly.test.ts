/** Concatenated replies from phones (src/sms/reassembly.ts): pure, the clock passed in. */
import { describe, expect, it } from 'vitest';
import {
  assemble,
  complete,
  expired,
  GAP,
  type HeldPart,
  type IncomingPart,
  type PartMeta,
  readPart,
  type Reassembled,
  single,
} from '../../src/sms/reassembly.js';

/** The spool's part (reply_parts, keyed by addresses, ref and total) held in a Map, over the pure functions. */
class Reassembler {
  private readonly pending = new Map<string, { meta: PartMeta; total: number; firstAt: number; held: HeldPart[] }>();
  constructor(
    private readonly timeoutMs: number,
    private readonly systemType: string | undefined,
  ) {}
  add(meta: PartMeta, part: IncomingPart, now: number): Reassembled | undefined {
    if (!part.concat || part.concat.total === 1) return single(meta, part.body, this.systemType);
    const { ref, total, seq } = part.concat;
    const key = `${meta.from}|${meta.to}|${ref}|${total}`;
    const p = this.pending.get(key) ?? { meta, total, firstAt: now, held: [] };
    this.pending.set(key, p);
    p.held = [...p.held.filter((h) => h.seq !== seq), { seq, body: part.body }];
    const whole = complete(p.meta, total, p.held, this.systemType);
    if (whole) this.pending.delete(key);
    return whole;
  }
  expire(now: number): Reassembled[] {
    const out = [...this.pending].filter(([, p]) => expired(p.firstAt, now, this.timeoutMs));
    for (const [key] of out) this.pending.delete(key);
    return out.map(([, p]) => assemble(p.meta, p.total, p.held, this.systemType));
  }
  get size(): number {
    return this.pending.size;
  }
}

const ucs2 = (s: string) => Buffer.from(s, 'utf16le').swap16();
const udh8 = (ref: number, total: number, seq: number) => Buffer.from([5, 0x00, 3, ref, total, seq]);
const udh16 = (ref: number, total: number, seq: number) => Buffer.from([6, 0x08, 4, ref >> 8, ref & 0xff, total, seq]);
const meta = (dataCoding: number, from = '4917') => ({ from, to: '4915100', dataCoding });

describe('readPart', () => {
  it('UDH 8-bit: header off the text, reference/total/seq read', () => {
    const p = readPart(0x40, Buffer.concat([udh8(0xa7, 3, 2), Buffer.from('abc')]));
    expect([p.body.toString(), p.concat]).toEqual(['abc', { ref: 0xa7, total: 3, seq: 2 }]);
  });
  it('UDH 16-bit after another element (a port header); an element of nothing known is only stripped', () => {
    const udh = Buffer.from([12, 0x05, 4, 0x0b, 0x84, 0x23, 0xf0, 0x08, 4, 0x12, 0x34, 2, 1]);
    const p = readPart(0x40, Buffer.concat([udh, Buffer.from('hi')]));
    expect([p.body.toString(), p.concat]).toEqual(['hi', { ref: 0x1234, total: 2, seq: 1 }]);
    const q = readPart(0x40, Buffer.from([3, 0x24, 1, 0x01, 0x41]));
    expect([q.body.toString(), q.concat]).toEqual(['A', undefined]);
  });
  it('SAR TLVs; without UDH flag or TLVs a part is whole; seq out of range is no concatenation', () => {
    expect(
      readPart(0, Buffer.from('x'), { sar_msg_ref_num: 300, sar_total_segments: 2, sar_segment_seqnum: 2 }).concat,
    ).toEqual({ ref: 300, total: 2, seq: 2 });
    expect(readPart(0, Buffer.concat([udh8(1, 2, 1), Buffer.from('x')])).body.length).toBe(7);
    expect(readPart(0x40, Buffer.concat([udh8(1, 2, 3), Buffer.from('x')])).concat).toBeUndefined();
  });
});

describe('Reassembler', () => {
  it('a single part is complete at once', () => {
    const r = new Reassembler(60_000, undefined);
    expect(r.add(meta(0), readPart(0, Buffer.from([0x48, 0x69])), 0)).toMatchObject({ text: 'Hi', missing: [] });
    expect(r.size).toBe(0);
  });

  it('UDH 8-bit GSM, parts out of order; a GSM escape split over two parts reads as €', () => {
    const r = new Reassembler(60_000, undefined);
    // "ok €5": 6f 6b 20 | 1b | 65 35 — the escape ends part 2, its character starts part 3.
    expect(
      r.add(meta(0), readPart(0x40, Buffer.concat([udh8(9, 3, 3), Buffer.from([0x65, 0x35])])), 0),
    ).toBeUndefined();
    expect(r.add(meta(0), readPart(0x40, Buffer.concat([udh8(9, 3, 1), Buffer.from('ok ')])), 1)).toBeUndefined();
    const done = r.add(meta(0), readPart(0x40, Buffer.concat([udh8(9, 3, 2), Buffer.from([0x1b])])), 2);
    expect(done).toMatchObject({ text: 'ok €5', missing: [], from: '4917' });
    expect(r.size).toBe(0);
  });

  it('UDH 16-bit UCS-2 split inside a surrogate pair joins into one emoji', () => {
    const r = new Reassembler(60_000, undefined);
    const bytes = ucs2('Да 👍');
    const cut = bytes.length - 2; // between the high and the low surrogate
    r.add(meta(8), readPart(0x40, Buffer.concat([udh16(0xbeef, 2, 1), bytes.subarray(0, cut)])), 0);
    const done = r.add(meta(8), readPart(0x40, Buffer.concat([udh16(0xbeef, 2, 2), bytes.subarray(cut)])), 1);
    expect(done?.text).toBe('Да 👍');
  });

  it('SAR with Latin-1 (data_coding 3) and ISO bytes under data_coding 0 with system_type ISO', () => {
    const sar = (seq: number) => ({ sar_msg_ref_num: 7, sar_total_segments: 2, sar_segment_seqnum: seq });
    const r = new Reassembler(60_000, undefined);
    r.add(meta(3), readPart(0, Buffer.from('Grü', 'latin1'), sar(1)), 0);
    expect(r.add(meta(3), readPart(0, Buffer.from('ße', 'latin1'), sar(2)), 0)?.text).toBe('Grüße');
    const iso = new Reassembler(60_000, 'ISO');
    iso.add(meta(0), readPart(0, Buffer.from('Grü', 'latin1'), sar(1)), 0);
    expect(iso.add(meta(0), readPart(0, Buffer.from('ße', 'latin1'), sar(2)), 0)?.text).toBe('Grüße');
  });

  it('the same reference from two phones stays two messages', () => {
    const r = new Reassembler(60_000, undefined);
    r.add(meta(0, 'A'), readPart(0x40, Buffer.concat([udh8(1, 2, 1), Buffer.from('a1 ')])), 0);
    r.add(meta(0, 'B'), readPart(0x40, Buffer.concat([udh8(1, 2, 1), Buffer.from('b1 ')])), 0);
    expect(r.add(meta(0, 'B'), readPart(0x40, Buffer.concat([udh8(1, 2, 2), Buffer.from('b2')])), 0)?.text).toBe(
      'b1 b2',
    );
    expect(r.add(meta(0, 'A'), readPart(0x40, Buffer.concat([udh8(1, 2, 2), Buffer.from('a2')])), 0)?.text).toBe(
      'a1 a2',
    );
  });

  it('parts that never complete are given out after the timeout, in order, gaps marked', () => {
    const r = new Reassembler(60_000, undefined);
    r.add(meta(0), readPart(0x40, Buffer.concat([udh8(4, 4, 4), Buffer.from('four')])), 1_000);
    r.add(meta(0), readPart(0x40, Buffer.concat([udh8(4, 4, 1), Buffer.from('one')])), 2_000);
    expect(r.expire(60_999)).toEqual([]);
    const [late] = r.expire(61_000);
    expect(late).toMatchObject({ text: `one${GAP}four`, missing: [2, 3] });
    expect(r.size).toBe(0);
  });
});
