import { CODING_NAMES } from '../sms/encode.js';
import type { QueueSource } from '../spool/queue-source.js';
import type { OutboxRow } from '../outbox/facts.js';
import type { SmsRow, SmsState } from '../spool/types.js';
import { firstWords } from '../web/pages.js';

export interface QueueOptions {
  id?: string;
  state?: SmsState;
  /** Only messages accepted within this many ms before `now`. */
  sinceMs?: number;
  limit: number;
  json: boolean;
  now: number;
}

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

const withText = (row: SmsRow) => ({ ...summary(row), text: row.text });

/** A list line's time: when the message was accepted, UTC, to the second. */
const acceptedAt = (iso: string) => `${iso.slice(0, 19)}Z`;

function outboxSummary(row: OutboxRow) {
  const f = row.facts;
  return {
    id: row.id,
    kind: f.kind === 'report' ? `report (${f.action})` : 'reply',
    to: f.to,
    about: f.kind === 'report' ? `${f.queueId} +${f.recipient}` : `from +${f.phone}`,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === 'pending' ? new Date(row.nextAttemptAt).toISOString() : null,
    lastError: row.lastError,
  };
}

export async function queueReport(spool: QueueSource, opts: QueueOptions): Promise<string> {
  if (opts.id !== undefined) {
    // A queue id is hex and may be all digits ("743770000005"): a number that is no row id is tried as one.
    const byRowId = /^\d+$/.test(opts.id) ? await spool.byId(Number(opts.id)) : undefined;
    const rows = byRowId ? [byRowId] : await spool.byQueueId(opts.id);
    if (rows.length === 0) throw new Error(`no message with id or queue id "${opts.id}"`);
    const full = rows.map(withText);
    return opts.json
      ? JSON.stringify(full)
      : full
          .map((r) =>
            Object.entries(r)
              .map(([k, v]) => `${k.padEnd(10)} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join('\n'),
          )
          .join('\n\n');
  }
  const counts = await spool.countsByState();
  const recent = (
    await spool.list({
      limit: opts.limit,
      ...(opts.state !== undefined ? { state: opts.state } : {}),
      ...(opts.sinceMs !== undefined ? { since: opts.now - opts.sinceMs } : {}),
    })
  ).map(withText);
  const outbox = {
    counts: await spool.outboxCounts(),
    recent: (await spool.listOutbox(opts.limit)).map(outboxSummary),
  };
  const kept = (await spool.keptReplies(opts.limit)).map((r) => ({
    receivedAt: new Date(r.receivedAt).toISOString(),
    from: `+${r.sourceAddr}`,
    to: r.destinationAddr,
    text: r.text,
  }));
  if (opts.json) return JSON.stringify({ counts, recent, outbox, keptReplies: kept });
  const lines = [
    'state counts: ' +
      (Object.entries(counts)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ') || 'empty'),
  ];
  for (const r of recent) {
    const extra = [r.reason ? `reason: ${r.reason}` : '', r.comment ? `comment: ${r.comment}` : '']
      .filter(Boolean)
      .join('; ');
    // When it came and the text's first words, as the web page's list shows them; the whole text with --id.
    lines.push(
      `${String(r.id).padStart(6)} ${acceptedAt(r.createdAt)} ${r.queueId} ${r.recipient.padEnd(16)} ${r.state.padEnd(13)} ${r.parts}×${r.encoding} ${JSON.stringify(firstWords(r.text, 40))} ids ${JSON.stringify(r.smscIds)}${extra ? `  ${extra}` : ''}`,
    );
  }
  const filtered = opts.state !== undefined || opts.sinceMs !== undefined;
  if (recent.length === 0 && filtered) lines.push('no message matches --state/--since');
  const o = outbox.counts;
  lines.push(`outbox (reports and reply mails): pending ${o.pending}, sent ${o.sent}, dropped ${o.dropped}`);
  for (const r of outbox.recent) {
    const next = r.nextAttemptAt ? ` next try ${r.nextAttemptAt}` : '';
    const error = r.lastError ? `  last error: ${r.lastError}` : '';
    lines.push(
      `${String(r.id).padStart(6)} ${r.kind.padEnd(20)} to ${r.to} about ${r.about} ${r.state} ×${r.attempts}${next}${error}`,
    );
  }
  if (kept.length > 0)
    lines.push('replies from phones that matched no message (kept; set replies.default_to to mail them):');
  for (const r of kept) lines.push(`  ${r.receivedAt} ${r.from} → ${r.to}: ${JSON.stringify(r.text)}`);
  return lines.join('\n');
}
