/** Receipts end to end: every stat, every id form, one receipt per part, and replies from phones. */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SmscSimulator, type SimulatorBehaviour } from '../../src/simulator/smsc.js';
import {
  readSpool,
  spawnDaemon,
  stopAfterEach,
  tempDir,
  testConfig,
  waitFor,
  type DaemonProcess,
} from '../helpers/daemon-process.js';
import { sendMail } from '../helpers/smtp-client.js';

let sim: SmscSimulator | undefined;
let daemon: DaemonProcess | undefined;
const started = stopAfterEach();

async function start(behaviour: SimulatorBehaviour, smpp: Record<string, unknown> = {}) {
  sim = started.simulator(new SmscSimulator(behaviour));
  const port = await sim.listen();
  const dir = tempDir();
  daemon = started.daemon(await spawnDaemon(testConfig(port, dir, { smpp }), dir));
  return daemon;
}

const STATS: Array<[string, string]> = [
  ['DELIVRD', 'delivered'],
  ['EXPIRED', 'expired'],
  ['DELETED', 'undeliverable'],
  ['UNDELIV', 'undeliverable'],
  ['REJECTD', 'undeliverable'],
  ['UNKNOWN', 'undeliverable'],
  ['ACCEPTD', 'submitted'],
];

describe('receipts', () => {
  it.each([
    ['hex ids, same form in receipts', { idFormat: 'hex', receiptIdFormat: 'same' }],
    [
      'decimal ids, receipts in upper-case hex with leading zeros',
      { idFormat: 'decimal', receiptIdFormat: 'hex-upper-zeros' },
    ],
    ['hex ids, receipts in decimal', { idFormat: 'hex', receiptIdFormat: 'decimal' }],
  ] as const)('every stat value is understood (%s)', async (_name, ids) => {
    const d = await start({ ...ids, receiptStat: (dest) => STATS[Number(dest.slice(-1))]![0] });
    for (let i = 0; i < STATS.length; i++) {
      const r = await sendMail(d.port, {
        to: [`+7999123000${i}@sms.example.test`],
        body: `Subject: s${i}\r\n\r\nbody\r\n`,
      });
      expect(r.data[0]!.code).toBe(250);
    }
    await waitFor(
      () => readSpool(d.spoolPath).filter((r) => r.receipts[0] !== null).length === STATS.length,
      15_000,
      'all receipts',
    );
    const rows = readSpool(d.spoolPath);
    expect(rows.map((r) => [r.receipts[0], r.state])).toEqual(STATS);
    expect(rows[3]!.reason).toBe('receipt stat:UNDELIV err:251');
  });

  it('one receipt per part, aggregated: all delivered → delivered; one part lost → undeliverable', async () => {
    let n = 0;
    const d = await start({ receiptStat: (dest) => (dest.endsWith('2') && ++n === 2 ? 'UNDELIV' : 'DELIVRD') });
    const long = `Subject: s\r\n\r\n${'part text '.repeat(40)}\r\n`;
    await sendMail(d.port, { to: ['+79991230001@sms.example.test'], body: long });
    await sendMail(d.port, { to: ['+79991230002@sms.example.test'], body: long });
    await waitFor(
      () => readSpool(d.spoolPath).every((r) => r.receipts.every((x) => x !== null)),
      15_000,
      'receipts for all parts',
    );
    const [ok, lost] = readSpool(d.spoolPath);
    expect([ok!.parts.length, ok!.receipts, ok!.state]).toEqual([3, ['DELIVRD', 'DELIVRD', 'DELIVRD'], 'delivered']);
    expect([lost!.receipts, lost!.state]).toEqual([['DELIVRD', 'UNDELIV', 'DELIVRD'], 'undeliverable']);
  });

  it('receipts that overtake their submit_sm_resp, with decimal ids 1, 2, 3…: every mail settled, none twice', async () => {
    // Issue 22: 36 of 160 mails stayed `submitted` when an early receipt was matched through the other base.
    const d = await start({ idFormat: 'decimal', receiptBeforeResp: true });
    const mails = 160;
    const connections = 6;
    const codes: number[] = [];
    await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        for (let i = c; i < mails; i += connections) {
          const r = await sendMail(d.port, {
            to: [`+7999${String(1_000_000 + i).padStart(7, '0')}@sms.example.test`],
            body: `Subject: burst ${i}\r\n\r\nalert ${i}\r\n`,
          });
          codes.push(r.data[0]?.code ?? r.mail.code);
        }
      }),
    );
    expect(codes.filter((c) => c === 250)).toHaveLength(mails);
    await waitFor(
      () => readSpool(d.spoolPath).filter((r) => r.state === 'delivered').length === mails,
      30_000,
      'every mail delivered',
    );
    const rows = readSpool(d.spoolPath);
    expect(rows.filter((r) => r.state !== 'delivered')).toEqual([]);
    // One receipt per row: none was used up on another message.
    expect(rows.every((r) => r.receipts.length === 1 && r.receipts[0] === 'DELIVRD')).toBe(true);
    expect(new Set(rows.map((r) => r.smscIds[0])).size).toBe(mails);
    // No message was settled twice (the defect logged a second "delivered" for an older message).
    const settled = d.logs.filter((l) => l.msg === 'receipt').map((l) => l.queueId);
    expect(settled.length).toBe(new Set(settled).size);
  });

  it('a reply from a phone (non-receipt DELIVER_SM) is acknowledged and stored', async () => {
    const d = await start({});
    await waitFor(() => sim!.binds === 1, 10_000, 'the bind');
    expect(await sim!.sendMobileOriginated('79991234567', 'Alerts', 'Принято, еду')).toBe(1);
    const db = new Database(d.spoolPath, { readonly: true });
    const rows = db.prepare('SELECT source_addr, destination_addr, text FROM inbound').all();
    db.close();
    expect(rows).toEqual([{ source_addr: '79991234567', destination_addr: 'Alerts', text: 'Принято, еду' }]);
  });
});
