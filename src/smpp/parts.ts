/** Spool rows ↔ SUBMIT_SM fields: the stored parts are sent exactly as they were counted at acceptance. */
import { rereference, type SmsPart } from '../sms/segment.js';
import { submitFields, type SubmitFields } from '../sms/submit.js';
import type { SmsRow, StoredPart } from '../spool/types.js';

export function toParts(stored: readonly StoredPart[]): SmsPart[] {
  return stored.map((p) => ({
    udh: Buffer.from(p.udh, 'hex'),
    body: Buffer.from(p.body, 'hex'),
    units: p.units,
    ...(p.sar ? { sar: p.sar } : {}),
    payload: p.payload,
  }));
}

export function toStored(parts: readonly SmsPart[]): StoredPart[] {
  return parts.map((p) => ({
    udh: p.udh.toString('hex'),
    body: p.body.toString('hex'),
    units: p.units,
    ...(p.sar ? { sar: p.sar } : {}),
    payload: p.payload,
  }));
}

export function rowSubmitFields(row: SmsRow, registeredDelivery: number): SubmitFields[] {
  return submitFields(
    { parts: toParts(row.parts), dataCoding: row.dataCoding },
    { digits: row.recipient, ton: 1, npi: 1 },
    row.sourceAddr ? { addr: row.sourceAddr, ton: row.sourceTon, npi: row.sourceNpi } : undefined,
    registeredDelivery,
  );
}

/** Stored parts with a new concatenation reference, for sending a composite again whole. */
export function withNewReference(stored: readonly StoredPart[], ref: number): StoredPart[] {
  return toStored(rereference(toParts(stored), ref));
}
