/** node-smpp's stream reader, as pdu.ts leaves it: the head of a PDU cut off by a close is not a PDU. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { smpp } from '../../src/smpp/pdu.js';

type Reader = (stream: PassThrough, commandLength: number) => { message_id?: unknown } | false;
const fromStream: Reader = (st, n) => (smpp.PDU as unknown as { fromStream: Reader }).fromStream(st, n);

async function ended(bytes: Buffer): Promise<PassThrough> {
  const s = new PassThrough();
  s.end(bytes);
  await new Promise((r) => s.once('readable', r));
  return s;
}

describe('a PDU cut short by the end of the stream', () => {
  it('throws instead of parsing what arrived as a whole response', async () => {
    const whole = new smpp.PDU('submit_sm_resp', { sequence_number: 5, message_id: 'abc123' }).toBuffer();
    const s = await ended(whole.subarray(0, 20));
    const length = whole.readUInt32BE(0);
    s.read(4);
    expect(() => fromStream(s, length)).toThrow(/PDU cut short: 20 of 23 bytes/);
  });

  it('a whole PDU still parses', async () => {
    const whole = new smpp.PDU('submit_sm_resp', { sequence_number: 5, message_id: 'abc123' }).toBuffer();
    const s = await ended(whole);
    s.read(4);
    const pdu = fromStream(s, whole.length);
    expect(pdu === false ? undefined : pdu.message_id).toBe('abc123');
  });
});
