/**
 * The stored form of an SMS's parts, part of the spool's contract: the SMTP intake stores the parts exactly as it
 * counted them, and the relay sends them back from this form. Every backend stores it as it is (hex strings).
 */
import type { SmsPart } from '../sms/segment.js';
import type { StoredPart } from './types.js';

export function toStored(parts: readonly SmsPart[]): StoredPart[] {
  return parts.map((p) => ({
    udh: p.udh.toString('hex'),
    body: p.body.toString('hex'),
    units: p.units,
    ...(p.sar ? { sar: p.sar } : {}),
    payload: p.payload,
  }));
}

export function toParts(stored: readonly StoredPart[]): SmsPart[] {
  return stored.map((p) => ({
    udh: Buffer.from(p.udh, 'hex'),
    body: Buffer.from(p.body, 'hex'),
    units: p.units,
    ...(p.sar ? { sar: p.sar } : {}),
    payload: p.payload,
  }));
}
