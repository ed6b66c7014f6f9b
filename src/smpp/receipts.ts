/**
 * Delivery receipts (DELIVER_SM with esm_class "SMSC delivery receipt"): the text format of SMPP 3.4 Appendix B,
 * which SMS Center also sends, and the receipted_message_id / message_state / network_error_code TLVs.
 * Matching the receipt's id to a part and what its stat settles are src/delivery/receipt-state.ts's rules.
 */

export type ReceiptStat = 'DELIVRD' | 'EXPIRED' | 'DELETED' | 'UNDELIV' | 'ACCEPTD' | 'UNKNOWN' | 'REJECTD' | 'ENROUTE';

export interface Receipt {
  id: string;
  stat: ReceiptStat;
  err: string | undefined;
  submitDate: string | undefined;
  doneDate: string | undefined;
}

/** message_state TLV values (SMPP 3.4 § 5.2.28). */
const MESSAGE_STATE: Record<number, ReceiptStat> = {
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
};

const STATS = new Set<ReceiptStat>([
  'DELIVRD',
  'EXPIRED',
  'DELETED',
  'UNDELIV',
  'ACCEPTD',
  'UNKNOWN',
  'REJECTD',
  'ENROUTE',
]);

/** esm_class bits 2–5: 0x04 = SMSC delivery receipt (0x20 intermediate notification counts too). */
export function isReceipt(esmClass: number): boolean {
  const type = esmClass & 0x3c;
  return type === 0x04 || type === 0x20;
}

function field(text: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${name}:(\\S*)`, 'i').exec(text);
  return m?.[1];
}

export interface ReceiptPdu {
  short_message?: unknown;
  message_payload?: unknown;
  receipted_message_id?: unknown;
  message_state?: unknown;
  network_error_code?: unknown;
}

/** Parse a receipt; TLVs win over the text where both are present. Undefined when it is not a receipt. */
export function parseReceipt(pdu: ReceiptPdu, text: string): Receipt | undefined {
  const id = (typeof pdu.receipted_message_id === 'string' && pdu.receipted_message_id) || field(text, 'id');
  const stateTlv = typeof pdu.message_state === 'number' ? MESSAGE_STATE[pdu.message_state] : undefined;
  const statText = field(text, 'stat')?.toUpperCase();
  const stat = stateTlv ?? (statText && STATS.has(statText as ReceiptStat) ? (statText as ReceiptStat) : undefined);
  if (!id || !stat) return undefined;
  let err = field(text, 'err');
  const nec = pdu.network_error_code;
  if (err === undefined && Buffer.isBuffer(nec) && nec.length === 3) err = String(nec.readUInt16BE(1));
  const dates = /submit date:(\d{10,12})\s+done date:(\d{10,12})/i.exec(text);
  return { id, stat, err, submitDate: dates?.[1], doneDate: dates?.[2] };
}
