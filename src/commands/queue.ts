/** `smtp2sms queue`: what is in the spool — counts by state, recent messages, one message in full. */
import { CODING_NAMES } from '../sms/encode.js';
import type { SqliteSpool } from '../spool/sqlite.js';
import type { SmsRow } from '../spool/types.js';

function summary(row: SmsRow) {
  return {
    id: row.id,
    queueId: row.queueId,
    recipient: `+${row.recipient}`,
    state: row.state,
    parts: row.smsCount,
    encoding: CODING_NAMES[row.coding],
    attempts: row.attempts,
    smscIds: row.smscIds,
    receipts: row.receipts,
    reason: row.reason,
    comment: row.comment,
    sender: row.sourceAddr,
    user: row.smtpUser,
    messageId: row.messageId,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

export function queueReport(spool: SqliteSpool, opts: { id?: string; limit: number; json: boolean }): string {
  if (opts.id !== undefined) {
    const rows = /^\d+$/.test(opts.id) ? [spool.byId(Number(opts.id))].filter((r): r is SmsRow => !!r) : spool.byQueueId(opts.id);
    if (rows.length === 0) throw new Error(`no message with id or queue id "${opts.id}"`);
    const full = rows.map((r) => ({ ...summary(r), text: r.text }));
    return opts.json ? JSON.stringify(full) : full.map((r) => Object.entries(r).map(([k, v]) => `${k.padEnd(10)} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n')).join('\n\n');
  }
  const counts = spool.countsByState();
  const recent = spool.recent(opts.limit).map(summary);
  if (opts.json) return JSON.stringify({ counts, recent });
  const lines = ['state counts: ' + (Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(', ') || 'empty')];
  for (const r of recent) {
    const extra = [r.reason ? `reason: ${r.reason}` : '', r.comment ? `comment: ${r.comment}` : ''].filter(Boolean).join('; ');
    lines.push(`${String(r.id).padStart(6)} ${r.queueId} ${r.recipient.padEnd(16)} ${r.state.padEnd(13)} ${r.parts}×${r.encoding} ids ${JSON.stringify(r.smscIds)}${extra ? `  ${extra}` : ''}`);
  }
  return lines.join('\n');
}
