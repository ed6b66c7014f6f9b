/** Spool rows ↔ SUBMIT_SM fields: the stored parts are sent exactly as they were counted at acceptance. */
import { rereference } from '../sms/segment.js';
import { submitFields, type SubmitFields } from '../sms/submit.js';
import { toParts, toStored } from '../spool/stored-parts.js';
import type { SmsRow, StoredPart } from '../spool/types.js';

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
