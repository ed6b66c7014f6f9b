/**
 * node-smpp, configured to carry bytes. Its `message` filter guesses an encoding for short_message and
 * message_payload: it labels GSM as IA5 and writes '@' for what it cannot encode, and on receipt decodes to a
 * lossy string. smtp2sms encodes and decodes text itself, so the filter is removed once, here, and every
 * short_message/message_payload is a Buffer both ways. Import smpp through this module only.
 */
import smpp, { type PDU, type Session } from 'smpp';
import { corkSocket } from '../io/cork.js';

for (const command of Object.values(smpp.commands)) {
  const param = command.params?.short_message;
  if (param) delete param.filter;
}
const payload = smpp.tlvs.message_payload;
if (payload) delete payload.filter;

/**
 * node-smpp reads a PDU's body with stream.read(n), which at end of stream returns what is left, fewer than n bytes:
 * the head of a PDU cut off by the SMSC closing its side was parsed as a whole one (a submit_sm_resp with status 0
 * and no message_id). A short read is an error instead, which ends the session like any parse error.
 */
type FromStream = (stream: { read(n: number): Buffer | null }, commandLength: number) => PDU | false;
const codec = smpp.PDU as unknown as { fromStream: FromStream & { whole?: true } };
if (!codec.fromStream.whole) {
  const whole: FromStream & { whole?: true } = (stream, commandLength) => {
    const body = stream.read(commandLength - 4);
    if (!body) return false;
    if (body.length < commandLength - 4) {
      throw new Error(`PDU cut short: ${body.length + 4} of ${commandLength} bytes before the SMSC closed`);
    }
    const head = Buffer.alloc(4);
    head.writeUInt32BE(commandLength, 0);
    const pdu = smpp.PDU.fromBuffer(Buffer.concat([head, body]));
    if (!pdu) throw new Error(`PDU of ${commandLength} bytes is shorter than its 16-byte header`);
    return pdu;
  };
  whole.whole = true;
  codec.fromStream = whole;
}

export { smpp };
export type { PDU, Session, PduFields } from 'smpp';

/**
 * session.send, with the PDUs of one event-loop turn in one write: node-smpp writes each PDU on its own, and a
 * burst of submits or receipt acks otherwise costs a syscall each. Returns false when the socket is not writable.
 */
export function sendPdu(session: Session, pdu: PDU, onResponse?: (resp: PDU) => void): boolean {
  corkSocket(session.socket, 'turn');
  return session.send(pdu, onResponse);
}

/** The bytes of short_message, or of message_payload when short_message is empty. */
export function messageBytes(pdu: { short_message?: unknown; message_payload?: unknown }): Buffer {
  const sm = pdu.short_message;
  if (Buffer.isBuffer(sm) && sm.length > 0) return sm;
  const mp = pdu.message_payload;
  return Buffer.isBuffer(mp) ? mp : Buffer.alloc(0);
}
