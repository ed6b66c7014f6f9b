/** `smtp2sms encode`: what a text costs and the exact bytes each SUBMIT_SM carries. */
import { CODING_NAMES } from '../sms/encode.js';
import type { PreparedSms } from '../sms/prepare.js';
import type { SmsPart } from '../sms/segment.js';

const UNIT_NAMES = { gsm7: 'septets', latin1: 'octets', ucs2: 'UTF-16 units' } as const;

/** short_message bytes as sent: UDH then text (payload mode: the message_payload value). */
export function partHex(part: SmsPart): string {
  return Buffer.concat([part.udh, part.body]).toString('hex');
}

export function encodeReportJson(sms: PreparedSms): object {
  return {
    encoding: CODING_NAMES[sms.coding],
    data_coding: sms.dataCoding,
    replacements: sms.replacements,
    transliterated: sms.transliterated,
    truncated: sms.truncated,
    text: sms.text,
    concatenation: sms.concatenation,
    sms_count: sms.smsCount,
    parts: sms.parts.map((p) => ({
      units: p.units,
      bytes: p.udh.length + p.body.length,
      hex: partHex(p),
      ...(p.udh.length > 0 ? { udh: p.udh.toString('hex') } : {}),
      ...(p.sar ? { sar: p.sar } : {}),
      ...(p.payload ? { message_payload: true } : {}),
    })),
  };
}

export function encodeReportText(sms: PreparedSms, withHex: boolean): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
  const lines = [
    `encoding:       ${CODING_NAMES[sms.coding]} (data_coding ${sms.dataCoding} / ${hex(sms.dataCoding)})`,
    `replacements:   ${sms.replacements.length === 0 ? 'none' : sms.replacements.map((r) => `${JSON.stringify(r.from)}→${JSON.stringify(r.to)} ×${r.count}`).join(', ')}`,
  ];
  if (sms.transliterated) lines.push('transliterated: Cyrillic → Latin');
  if (sms.truncated) lines.push('truncated:      yes, cut to fit sms.max_parts');
  // What the phone will show, after replacements, transliteration and truncation: quoted, so line breaks show.
  lines.push(`text:           ${JSON.stringify(sms.text)}`);
  lines.push(`SMS parts:      ${sms.smsCount} (${sms.parts.length} SUBMIT_SM, concatenation ${sms.concatenation})`);
  sms.parts.forEach((p, i) => {
    const extra = [
      p.udh.length > 0 ? `UDH ${p.udh.toString('hex')}` : '',
      p.sar ? `SAR ref ${p.sar.ref} ${p.sar.seq}/${p.sar.total}` : '',
      p.payload ? 'in message_payload' : '',
    ].filter(Boolean);
    lines.push(
      `  part ${i + 1}: ${p.units} ${UNIT_NAMES[sms.coding]}, ${p.udh.length + p.body.length} bytes${extra.length ? ` (${extra.join(', ')})` : ''}`,
    );
    if (withHex) lines.push(`    ${partHex(p)}`);
  });
  return lines.join('\n');
}
