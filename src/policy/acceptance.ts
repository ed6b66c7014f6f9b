/**
 * The provider's rules at acceptance as one decision: a backend reads the facts about one recipient's row inside
 * the transaction that stores it (so concurrent identical mails cannot both pass), this decides, with the clock
 * passed in; the backend then stores what the decision says. Order matters: a retransmission is the first
 * acceptance again (nothing new is stored, no rule applies), a flood stores nothing, a duplicate is stored
 * 'refused' for the record.
 */
import { duplicateAge, floodRefused, isRetransmission, type PolicyRules } from './rules.js';
import type { Coding } from '../sms/encode.js';

/** The first stored (not refused) row with this Message-ID for this recipient. */
export interface FirstAcceptance {
  queueId: string;
  createdAt: number;
  smsCount: number;
  coding: Coding;
}

/** What a backend reads for one row (see acceptanceQuery for the bounds). */
export interface AcceptanceFacts {
  /** Only looked up when the row has a Message-ID. */
  sameMessageId: FirstAcceptance | undefined;
  /** Acceptance times of the recipient's latest stored (not refused) rows, newest first, at most `floodLimit`. */
  recentAccepted: readonly number[];
  /** Latest acceptance of a stored (not refused) row with the same fingerprint since `duplicateSince`. */
  lastSameFingerprintAt: number | undefined;
}

/** The bounds of the facts to read. */
export function acceptanceQuery(now: number, rules: PolicyRules): { floodLimit: number; duplicateSince: number } {
  return { floodLimit: Math.max(0, Math.trunc(rules.floodMax)), duplicateSince: now - rules.duplicateWindowMs };
}

export type AcceptDecision =
  | { kind: 'store' }
  | { kind: 'retransmission'; queueId: string; smsCount: number; coding: Coding }
  | { kind: 'flood' }
  /** Store the row 'refused' with `reason`. */
  | { kind: 'duplicate'; ageMs: number; dropped: boolean; reason: string };

export function decideAcceptance(facts: AcceptanceFacts, now: number, rules: PolicyRules): AcceptDecision {
  const first = facts.sameMessageId;
  if (first && isRetransmission(first.createdAt, now, rules)) {
    return { kind: 'retransmission', queueId: first.queueId, smsCount: first.smsCount, coding: first.coding };
  }
  if (floodRefused(facts.recentAccepted, now, rules)) return { kind: 'flood' };
  const age = duplicateAge(facts.lastSameFingerprintAt, now, rules);
  if (age !== undefined) {
    const dropped = rules.duplicateAction === 'drop';
    const reason = `duplicate of an SMS accepted ${Math.floor(age / 1000)} s ago${dropped ? ' (dropped)' : ''}`;
    return { kind: 'duplicate', ageMs: age, dropped, reason };
  }
  return { kind: 'store' };
}
