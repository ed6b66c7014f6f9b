import { describe, expect, it } from 'vitest';
import { parsePhone } from '../../src/sms/phone.js';
import { prepareSms, type SmsOptions } from '../../src/sms/prepare.js';
import { parseSender } from '../../src/sms/sender.js';
import { submitFields } from '../../src/sms/submit.js';
import { SMS_OPTIONS } from '../helpers/options.js';

const opts: SmsOptions = { ...SMS_OPTIONS, profile: 'smsc' };
const to = parsePhone('8 (999) 123-45-67', 'RU');

describe('SUBMIT_SM fields per recipient', () => {
  it('single GSM part: TON/NPI of both ends, no UDHI, bytes as given', () => {
    const [pdu, ...rest] = submitFields(prepareSms('Disk full', opts), to, parseSender('Alerts'), 1);
    expect(rest).toEqual([]);
    expect(pdu).toEqual({
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: 'Alerts',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '79991234567',
      esm_class: 0,
      registered_delivery: 1,
      data_coding: 0,
      short_message: Buffer.from('Disk full', 'latin1'),
    });
  });

  it('udh8 UCS-2 parts: esm_class 0x40, UDH then UTF-16BE, data_coding 8', () => {
    const pdus = submitFields(prepareSms('я'.repeat(100), opts, 7), to, parseSender('4242'), 0);
    expect(pdus.map((p) => [p.esm_class, p.data_coding, p.source_addr_ton])).toEqual([
      [0x40, 8, 3],
      [0x40, 8, 3],
    ]);
    expect(pdus[0]!.short_message.subarray(0, 6).toString('hex')).toBe('050003070201');
    expect(pdus[0]!.short_message).toHaveLength(6 + 134);
  });

  it('sar: TLVs, no UDHI; payload: empty short_message and message_payload', () => {
    const sar = submitFields(prepareSms('a'.repeat(300), { ...opts, concatenation: 'sar' }, 0x1234), to, undefined, 1);
    expect(sar.map((p) => [p.esm_class, p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum])).toEqual([
      [0, 0x1234, 2, 1],
      [0, 0x1234, 2, 2],
    ]);
    const [payload] = submitFields(
      prepareSms('a'.repeat(300), { ...opts, concatenation: 'payload' }),
      to,
      undefined,
      1,
    );
    expect(payload!.short_message).toHaveLength(0);
    expect(payload!.message_payload).toEqual(Buffer.from('a'.repeat(300)));
  });

  it('no sender: empty source_addr with TON/NPI 0 (the SMSC default)', () => {
    const [pdu] = submitFields(prepareSms('x', opts), to, undefined, 1);
    expect([pdu!.source_addr, pdu!.source_addr_ton, pdu!.source_addr_npi]).toEqual(['', 0, 0]);
  });
});
