/**
 * A recipient's timeline on the message page, as data: accepted, each part submitted, each part's receipt with its
 * time and err in words, the final state, and the delivery reports and replies when those exist (the outbox).
 * Pure: the page renders it, a unit test reads it.
 */
import type { OutboxRow } from '../outbox/facts.js';
import { FINAL_STATES, type SmsRow } from '../spool/types.js';
import { explainReason, STATE_WORDS } from './explain.js';

export interface TimelineEvent {
  at: number;
  what: string;
}

const OUTBOX_STATE: Record<OutboxRow['state'], string> = {
  pending: 'waiting to be sent',
  sent: 'sent',
  dropped: 'could not be sent',
};

/**
 * The final state and what it means, each word once: "delivered", "cancelled before it was sent", "undeliverable
 * (could not be delivered)", or only the state when the reason's words start with what it means.
 */
function finalWords(r: SmsRow, why: string | undefined): string {
  // Expired after it was handed over (a receipt said so), not "before it could be sent".
  const words = r.state === 'expired' && r.firstSubmitAt !== null ? 'expired' : (STATE_WORDS[r.state] ?? r.state);
  if (words.startsWith(r.state)) return words;
  return why?.startsWith(words) ? r.state : `${r.state} (${words})`;
}

export function timelineOf(r: SmsRow, outbox: readonly OutboxRow[]): TimelineEvent[] {
  const events: TimelineEvent[] = [
    { at: r.createdAt, what: r.state === 'refused' ? `accepted and refused: ${r.reason ?? ''}` : 'accepted' },
  ];
  const n = r.parts.length;
  // Only the first part's submit time is stored; the others leave right after it, within the composite window.
  if (r.firstSubmitAt !== null) {
    r.smscIds.forEach((id, i) => {
      if (id !== null) events.push({ at: r.firstSubmitAt!, what: `part ${i + 1} of ${n} submitted (SMSC id ${id})` });
    });
  }
  r.receiptFacts.forEach((fact, i) => {
    const stat = r.receipts[i];
    if (!fact || !stat) return;
    const words = explainReason(`stat:${stat}${fact.err === null ? '' : ` err:${fact.err}`}`) ?? stat;
    events.push({ at: fact.at, what: `receipt for part ${i + 1} of ${n}: ${words}` });
  });
  if (FINAL_STATES.includes(r.state) && r.state !== 'refused') {
    const why = r.state === 'delivered' ? undefined : explainReason(r.reason);
    events.push({ at: r.updatedAt, what: `final: ${finalWords(r, why)}${why ? `: ${why}` : ''}` });
  }
  for (const o of outbox) {
    const f = o.facts;
    if (f.kind === 'report' && f.recipient === r.recipient) {
      const what =
        o.state === 'sent'
          ? `report sent to ${f.to} (${f.action})`
          : `report to ${f.to} (${f.action}) ${OUTBOX_STATE[o.state]}${o.lastError ? `: ${o.lastError}` : ''}`;
      events.push({ at: o.createdAt, what });
    } else if (f.kind === 'reply' && f.phone.replace(/\D/g, '') === r.recipient) {
      events.push({ at: f.receivedAt, what: `reply from +${r.recipient}: ${f.text} (mailed to ${f.to})` });
    }
  }
  // Stable: events of the same millisecond keep the order above (accepted, submitted, receipts, final, mails).
  return events.sort((a, b) => a.at - b.at);
}
