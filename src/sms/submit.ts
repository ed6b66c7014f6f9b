/**
 * The SUBMIT_SM fields for one recipient, one object per part, named as SMPP 3.4 (and node-smpp) name them.
 * short_message is always a Buffer with an explicit data_coding: node-smpp's own encoding would relabel GSM as
 * IA5 and turn unencodable characters into '@'.
 */
import type { Phone } from './phone.js';
import type { SmsPart } from './segment.js';
import type { Sender } from './sender.js';

export const ESM_CLASS_UDHI = 0x40;

export interface SubmitFields {
  source_addr_ton: number;
  source_addr_npi: number;
  source_addr: string;
  dest_addr_ton: number;
  dest_addr_npi: number;
  destination_addr: string;
  esm_class: number;
  registered_delivery: number;
  data_coding: number;
  short_message: Buffer;
  sar_msg_ref_num?: number;
  sar_total_segments?: number;
  sar_segment_seqnum?: number;
  message_payload?: Buffer;
}

export function submitFields(
  sms: { parts: readonly SmsPart[]; dataCoding: number },
  to: Pick<Phone, 'digits' | 'ton' | 'npi'>,
  from: Pick<Sender, 'addr' | 'ton' | 'npi'> | undefined,
  registeredDelivery: number,
): SubmitFields[] {
  return sms.parts.map((part) => ({
    // An empty source_addr with TON/NPI 0 lets the SMSC use the account's default sender.
    source_addr_ton: from?.ton ?? 0,
    source_addr_npi: from?.npi ?? 0,
    source_addr: from?.addr || '',
    dest_addr_ton: to.ton,
    dest_addr_npi: to.npi,
    destination_addr: to.digits,
    esm_class: part.udh.length > 0 ? ESM_CLASS_UDHI : 0,
    registered_delivery: registeredDelivery,
    data_coding: sms.dataCoding,
    short_message: part.payload ? Buffer.alloc(0) : Buffer.concat([part.udh, part.body]),
    ...(part.sar
      ? { sar_msg_ref_num: part.sar.ref, sar_total_segments: part.sar.total, sar_segment_seqnum: part.sar.seq }
      : {}),
    ...(part.payload ? { message_payload: part.body } : {}),
  }));
}
