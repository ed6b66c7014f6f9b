/**
 * The counting SMSC of `npm run bench:kannel`, run as its own process so neither gateway's load generator pays for
 * it: a raw-socket SMPP responder that answers every bind, enquire_link, unbind and submit_sm at once (no receipts)
 * and records when each submit_sm arrived and which bench mail it carries ("bench <id>" in its text).
 *
 * It is deliberately not the project's simulator: node-smpp's codec and the simulator's bookkeeping cost about as
 * much per SMS as a lean gateway, and this process shares the two cores with both gateways under test.
 *
 * Parent ↔ child over the IPC channel: {cmd:'count'} → {count}; {cmd:'take'} → {ids, at} (and forgets them).
 * Arrival times are CLOCK_MONOTONIC in ms (process.hrtime), the clock the parent stamps its requests with.
 */
import net, { type AddressInfo } from 'node:net';

const RESP = 0x80000000;
const BIND_RECEIVER = 0x01;
const BIND_TRANSMITTER = 0x02;
const SUBMIT_SM = 0x04;
const UNBIND = 0x06;
const BIND_TRANSCEIVER = 0x09;
const ENQUIRE_LINK = 0x15;
const ESME_RINVCMDID = 0x03;

const now = () => Number(process.hrtime.bigint()) / 1e6;

let ids: number[] = [];
let at: number[] = [];
let nextMessageId = 1;

function pdu(commandId: number, status: number, seq: number, body?: string): Buffer {
  const bodyLen = body === undefined ? 0 : Buffer.byteLength(body, 'latin1') + 1;
  const b = Buffer.alloc(16 + bodyLen);
  b.writeUInt32BE(16 + bodyLen, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(status, 8);
  b.writeUInt32BE(seq, 12);
  if (body !== undefined) b.write(body, 16, 'latin1');
  return b;
}

/** The bench id in a submit_sm's short_message (or -1): skip the C-strings and bytes before it (SMPP 3.4 §4.4.1). */
function benchId(b: Buffer, start: number, end: number): number {
  let i = start;
  const cstring = () => {
    while (i < end && b[i] !== 0) i++;
    i++;
  };
  cstring(); // service_type
  i += 2; // source ton, npi
  cstring(); // source_addr
  i += 2; // dest ton, npi
  cstring(); // destination_addr
  i += 3; // esm_class, protocol_id, priority_flag
  cstring(); // schedule_delivery_time
  cstring(); // validity_period
  i += 4; // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
  const len = b[i] ?? 0;
  i++;
  // Digits and "bench " are the same bytes in GSM 03.38 (unpacked), Latin-1 and ASCII.
  const text = b.toString('latin1', i, Math.min(end, i + (len || end - i)));
  const m = /bench (\d+)/.exec(text);
  return m ? Number(m[1]) : -1;
}

function onConnection(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const out: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= 16) {
      const len = buf.readUInt32BE(off);
      if (len < 16) {
        socket.destroy();
        return;
      }
      if (buf.length - off < len) break;
      const id = buf.readUInt32BE(off + 4);
      const seq = buf.readUInt32BE(off + 12);
      if (id === SUBMIT_SM) {
        ids.push(benchId(buf, off + 16, off + len));
        at.push(now());
        out.push(pdu(SUBMIT_SM | RESP, 0, seq, (nextMessageId++).toString(16)));
      } else if (id === BIND_TRANSCEIVER || id === BIND_TRANSMITTER || id === BIND_RECEIVER) {
        out.push(pdu(id | RESP, 0, seq, 'COUNTING-SMSC'));
      } else if (id === ENQUIRE_LINK || id === UNBIND) {
        out.push(pdu(id | RESP, 0, seq));
      } else if (id < RESP) {
        out.push(pdu(id | RESP, ESME_RINVCMDID, seq));
      }
      off += len;
    }
    buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    if (out.length > 0) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  });
}

const server = net.createServer(onConnection);
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'count') process.send?.({ count: ids.length });
  else if (m.cmd === 'take') {
    process.send?.({ ids, at });
    ids = [];
    at = [];
  }
});
process.on('disconnect', () => process.exit(0));
