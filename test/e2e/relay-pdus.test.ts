/** Mail in over SMTP to the daemon (a child process), exact SUBMIT_SM PDUs out at the simulator. */
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import {
  spawnDaemon,
  stopAfterEach,
  tempDir,
  testConfig,
  waitFor,
  type DaemonProcess,
} from '../helpers/daemon-process.js';
import { sendMail } from '../helpers/smtp-client.js';

const LONG_RU = 'Внимание: сервер db1 недоступен с 03:14, идёт переключение на резерв. '.repeat(2).trim();
const LONG_GSM = 'ALERT db1 unreachable since 03:14 {core} [dc-1] ~ failover running, ticket #4711 € '.repeat(2).trim();

let sim: SmscSimulator | undefined;
let daemon: DaemonProcess | undefined;
const started = stopAfterEach();

async function run(
  smpp: Record<string, unknown>,
  body: string,
  to = '+79991234567@sms.example.test',
  extra: Record<string, unknown> = {},
) {
  sim = started.simulator(new SmscSimulator());
  const port = await sim.listen();
  const dir = tempDir();
  daemon = started.daemon(await spawnDaemon(testConfig(port, dir, { smpp, ...extra }), dir));
  const r = await sendMail(daemon.port, { to: [to], body: Buffer.from(body, 'utf8') });
  expect(r.data[0]!.code).toBe(250);
  await waitFor(() => sim!.received.length === 1, 15_000, 'the SMS at the simulator');
  return { sim, submits: sim.submits, sms: sim.received[0]! };
}

const mail = (text: string) =>
  `Subject: \r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}\r\n`;

describe('SUBMIT_SM as sent, per concatenation mode and profile', () => {
  it('udh8, generic, UCS-2: esm_class 0x40, UDH 05 00 03, data_coding 8, TON/NPI', async () => {
    const { submits, sms } = await run(
      { concatenation: 'udh8', profile: 'generic', source_addr: 'Alerts' },
      mail(LONG_RU),
    );
    expect(submits).toHaveLength(3);
    for (const [i, s] of submits.entries()) {
      expect(s.pdu).toMatchObject({
        esm_class: 0x40,
        data_coding: 8,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: '79991234567',
        source_addr: 'Alerts',
        source_addr_ton: 5,
        source_addr_npi: 0,
        registered_delivery: 1,
      });
      expect([...s.pdu.short_message.subarray(0, 3)]).toEqual([0x05, 0x00, 0x03]);
      expect([s.pdu.short_message[4], s.pdu.short_message[5]]).toEqual([3, i + 1]);
      expect(s.pdu.short_message[3]).toBe(submits[0]!.pdu.short_message[3]);
    }
    expect(sms).toMatchObject({ text: LONG_RU, encoding: 'UCS-2', parts: 3 });
  });

  it('udh16, smsc profile, GSM with extension characters: UDH 06 08 04, data_coding 0', async () => {
    const { submits, sms } = await run(
      { concatenation: 'udh16', profile: 'smsc', source_addr: '4242' },
      mail(LONG_GSM),
    );
    expect(submits.length).toBe(2);
    for (const s of submits) {
      expect(s.pdu).toMatchObject({ esm_class: 0x40, data_coding: 0, source_addr_ton: 3, source_addr_npi: 0 });
      expect([...s.pdu.short_message.subarray(0, 3)]).toEqual([0x06, 0x08, 0x04]);
    }
    expect(sms).toMatchObject({ text: LONG_GSM, encoding: 'GSM', parts: 2 });
  });

  it('sar: TLVs, no UDH, esm_class 0', async () => {
    const { submits, sms } = await run({ concatenation: 'sar', profile: 'smsc' }, mail(LONG_RU));
    expect(submits.map((s) => [s.pdu.esm_class, s.pdu.sar_total_segments, s.pdu.sar_segment_seqnum])).toEqual([
      [0, 3, 1],
      [0, 3, 2],
      [0, 3, 3],
    ]);
    expect(new Set(submits.map((s) => s.pdu.sar_msg_ref_num)).size).toBe(1);
    expect(submits.every((s) => s.pdu.data_coding === 8)).toBe(true);
    expect(sms.text).toBe(LONG_RU);
  });

  it('payload: one SUBMIT_SM, empty short_message, whole text in message_payload', async () => {
    const { submits, sms } = await run({ concatenation: 'payload', profile: 'smsc' }, mail(LONG_RU));
    expect(submits).toHaveLength(1);
    expect(submits[0]!.pdu.short_message).toHaveLength(0);
    expect(submits[0]!.pdu.message_payload!.length).toBe(LONG_RU.length * 2);
    expect(sms.text).toBe(LONG_RU);
  });

  it('Latin-1: data_coding 3 (generic) and 4 (smsc)', async () => {
    const generic = await run({ profile: 'generic' }, mail('Crème brûlée à 5 €?'.replace('€', 'EUR')), undefined, {
      sms: { allow_latin1: true },
    });
    expect(generic.submits[0]!.pdu.data_coding).toBe(3);
    expect(generic.sms.text).toBe('Crème brûlée à 5 EUR?');
    await daemon!.kill('SIGKILL');
    await sim!.close();
    const smsc = await run({ profile: 'smsc' }, mail('Crème brûlée'), undefined, { sms: { allow_latin1: true } });
    expect(smsc.submits[0]!.pdu.data_coding).toBe(4);
    expect(smsc.submits[0]!.pdu.short_message).toEqual(Buffer.from('Crème brûlée', 'latin1'));
  });

  it('system_type ISO: data_coding 0 carries Latin-1 bytes; comments for SMS Center after ~~~', async () => {
    const { submits, sms } = await run(
      { profile: 'smsc', system_type: 'ISO', comments: 'smsc' },
      'Subject: \r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCode {4711} é\r\n~~~\r\norder 77\r\n',
    );
    expect(submits[0]!.systemType).toBe('ISO');
    expect(submits[0]!.pdu.data_coding).toBe(0);
    expect(submits[0]!.pdu.short_message).toEqual(Buffer.from('Code {4711} é\n~~~\norder 77', 'latin1'));
    expect(sms.text).toBe('Code {4711} é\n~~~\norder 77');
  });

  it('GSM single part: unpacked septets, escape pairs for €', async () => {
    const { submits } = await run({}, mail('5 € [ok]'));
    expect(submits[0]!.pdu.short_message.toString('hex')).toBe('35201b65201b3c6f6b1b3e');
    expect(submits[0]!.pdu.esm_class).toBe(0);
  });
});
