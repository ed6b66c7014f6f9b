/**
 * An SMSC that misbehaves: closes in the middle of a PDU, sends commands the bridge does not know, refuses binds.
 * The hostile SMSC is a raw TCP server written here (node-smpp's server would not send half a PDU); the relay must
 * reconnect at once, not at its next write, and every SMS still goes out once.
 */
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { smpp, type PDU } from '../../src/smpp/pdu.js';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { readSpool, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';
import { sendMail } from '../helpers/smtp-client.js';

const started = stopAfterEach();

interface Conn {
  n: number;
  socket: net.Socket;
  got: PDU[];
}

/** A raw SMSC: `onPdu` sees every PDU with its connection (numbered from 1) and answers as it likes. */
async function rawSmsc(onPdu: (pdu: PDU, conn: Conn) => void) {
  const conns: Conn[] = [];
  const server = net.createServer((socket) => {
    const conn: Conn = { n: conns.length + 1, socket, got: [] };
    conns.push(conn);
    let buf = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0)) {
        const pdu = smpp.PDU.fromBuffer(buf.subarray(0, buf.readUInt32BE(0))) as PDU;
        buf = buf.subarray(buf.readUInt32BE(0));
        conn.got.push(pdu);
        if (pdu.command.startsWith('bind_')) socket.write(pdu.response({ system_id: 'RAW' }).toBuffer());
        else if (pdu.command === 'enquire_link') socket.write(pdu.response().toBuffer());
        else onPdu(pdu, conn);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => {
    for (const c of conns) c.socket.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  };
  started.simulator({ close } as SmscSimulator);
  return { port: (server.address() as AddressInfo).port, conns };
}

const okResp = (pdu: PDU, id: string) => pdu.response({ message_id: id }).toBuffer();
// Slow keepalive and response timeouts: only noticing the close itself can make the relay reconnect in time.
const slow = { enquire_link_s: 60, response_timeout_s: 60 };
const TO = '+79991234567@sms.example.test';

describe('a hostile SMSC', () => {
  it.each([
    ['inside the header', 10],
    ['right after the header, before the body', 16],
  ])(
    'closes in the middle of a submit_sm_resp (%s): reconnect at once, the SMS goes again',
    async (_where, cut) => {
      const smsc = await rawSmsc((pdu, conn) => {
        if (pdu.command !== 'submit_sm') return;
        if (conn.n === 1) {
          conn.socket.end(okResp(pdu, 'cut-off-id').subarray(0, cut));
          return;
        }
        conn.socket.write(okResp(pdu, 'abc123'));
      });
      const dir = tempDir();
      const d = started.daemon(await spawnDaemon(testConfig(smsc.port, dir, { smpp: slow }), dir));
      expect((await sendMail(d.port, { to: [TO], body: 'Subject: cut\r\n\r\nhello\r\n' })).data[0]!.code).toBe(250);
      const sent = () => readSpool(d.spoolPath).some((r) => r.state === 'submitted' || r.state === 'delivered');
      await waitFor(sent, 15_000, 'submitted');
      const submitsOn = (n: number) => smsc.conns[n - 1]?.got.filter((p) => p.command === 'submit_sm').length ?? 0;
      expect([submitsOn(1), submitsOn(2)]).toEqual([1, 1]);
      // The cut-off response was not taken for an answer: the id is the one of the whole response.
      expect(JSON.stringify(readSpool(d.spoolPath))).toContain('abc123');
      expect(JSON.stringify(readSpool(d.spoolPath))).not.toContain('cut-off-id');
    },
    30_000,
  );

  it('an unknown command gets generic_nack (ESME_RINVCMDID, its sequence_number); the bind stays up', async () => {
    const smsc = await rawSmsc(() => undefined);
    const dir = tempDir();
    const d = started.daemon(await spawnDaemon(testConfig(smsc.port, dir, { smpp: slow }), dir));
    await waitFor(() => smsc.conns.length === 1 && smsc.conns[0]!.got.length > 0, 10_000, 'the bind');
    const unknown = new smpp.PDU('enquire_link', { sequence_number: 4242 }).toBuffer();
    unknown.writeUInt32BE(0x00000123, 4); // no such command_id
    smsc.conns[0]!.socket.write(unknown);
    await waitFor(() => smsc.conns[0]!.got.some((p) => p.command === 'generic_nack'), 10_000, 'generic_nack');
    const nack = smsc.conns[0]!.got.find((p) => p.command === 'generic_nack')!;
    expect([nack.command_status, nack.sequence_number]).toEqual([0x03, 4242]);
    expect(smsc.conns).toHaveLength(1);
    expect(d.logs.some((l) => l.msg === 'SMSC sent an unsupported command')).toBe(true);
  }, 30_000);

  it('alert_notification (which has no response) is taken, not answered, and does not drop the bind', async () => {
    const smsc = await rawSmsc((pdu, conn) => {
      if (pdu.command === 'submit_sm') conn.socket.write(okResp(pdu, 'ok1'));
    });
    const dir = tempDir();
    const d = started.daemon(await spawnDaemon(testConfig(smsc.port, dir, { smpp: slow }), dir));
    await waitFor(() => smsc.conns.length === 1 && smsc.conns[0]!.got.length > 0, 10_000, 'the bind');
    const alert = new smpp.PDU('alert_notification', { sequence_number: 7, source_addr: '7999', esme_addr: 'x' });
    smsc.conns[0]!.socket.write(alert.toBuffer());
    await waitFor(() => d.logs.some((l) => String(l.msg).startsWith('SMSC alert_notification')), 10_000, 'the alert');
    const r = await sendMail(d.port, { to: [TO], body: 'Subject: a\r\n\r\nafter the alert\r\n' });
    expect(r.data[0]!.code).toBe(250);
    await waitFor(() => smsc.conns[0]!.got.some((p) => p.command === 'submit_sm'), 10_000, 'the submit');
    expect(smsc.conns).toHaveLength(1);
  }, 30_000);

  it('a refused bind: one line with its retry time, no "unreachable"; the simulator says what it refused', async () => {
    const printed: string[] = [];
    const print = (l: string) => void printed.push(l);
    const sim = started.simulator(new SmscSimulator({ systemId: 'smtp2sms', password: 'right' }, print));
    const port = await sim.listen();
    const dir = tempDir();
    const config = testConfig(port, dir, { smpp: { password: 'wrong', bind_refused_retry_s: 0.5 } });
    const d = started.daemon(await spawnDaemon(config, dir));
    await waitFor(() => sim.bindRefusals >= 2, 10_000, 'two refusals');
    const refused = d.logs.filter((l) => String(l.msg).startsWith('SMSC refused the bind (ESME_RINVPASWD)'));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.msg).toMatch(/; retrying in 0\.[2-5] s: check smpp\.system_id/);
    expect(Number(refused[0]!.retryInMs)).toBeLessThanOrEqual(500);
    expect(d.logs.filter((l) => String(l.msg).includes('unreachable'))).toEqual([]);
    expect(printed.filter((l) => l.includes('refused'))[0]).toBe(
      'bind_transceiver refused: wrong password: ESME_RINVPASWD (0x0000000e)',
    );

    // Fixed: bound; a refused destination is printed with its status too.
    sim.behaviour = { refusePrefixes: ['7999'] };
    await waitFor(() => sim.binds === 1, 10_000, 'the bind');
    expect((await sendMail(d.port, { to: [TO], body: 'Subject: r\r\n\r\nrefused\r\n' })).data[0]!.code).toBe(250);
    await waitFor(() => printed.some((l) => l.startsWith('submit_sm')), 10_000, 'the refusal line');
    expect(printed.filter((l) => l.startsWith('submit_sm'))).toEqual([
      'submit_sm to 79991234567 refused: refused prefix: ESME_RINVDSTADR (0x0000000b)',
    ]);
  }, 30_000);
});
