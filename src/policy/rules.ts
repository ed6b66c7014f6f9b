/**
 * The provider's rules as pure decisions: the spool reads the facts (when was this SMS last accepted, what did
 * this subscriber get lately, was this Message-ID seen), these functions decide, with the clock passed in.
 * A window or limit of 0 disables its rule.
 */
import { replies, type Reply } from '../replies.js';

export interface PolicyRules {
  duplicateWindowMs: number;
  duplicateAction: 'reject' | 'drop';
  retransmitWindowMs: number;
  floodMax: number;
  floodGapMs: number;
}

/** Same recipient, text and sender accepted less than the window ago (SMS Center refuses it). */
export function duplicateAge(
  lastAcceptedAt: number | undefined,
  now: number,
  rules: Pick<PolicyRules, 'duplicateWindowMs'>,
): number | undefined {
  if (rules.duplicateWindowMs <= 0 || lastAcceptedAt === undefined) return undefined;
  const age = now - lastAcceptedAt;
  return age < rules.duplicateWindowMs ? age : undefined;
}

/** A client that lost our 250 sends the same Message-ID again: the first acceptance stands. */
export function isRetransmission(
  firstAcceptedAt: number | undefined,
  now: number,
  rules: Pick<PolicyRules, 'retransmitWindowMs'>,
): boolean {
  return (
    rules.retransmitWindowMs > 0 && firstAcceptedAt !== undefined && now - firstAcceptedAt < rules.retransmitWindowMs
  );
}

/**
 * Length of the streak the next message would join: the latest acceptances to this subscriber, newest first,
 * counted while each gap (and the gap to now) is under the flood gap.
 */
export function streakLength(acceptedNewestFirst: readonly number[], now: number, gapMs: number): number {
  let n = 0;
  let later = now;
  for (const t of acceptedNewestFirst) {
    if (later - t >= gapMs) break;
    n++;
    later = t;
  }
  return n;
}

/** SMS Center blocks more than `floodMax` messages to one subscriber sent less than `floodGap` apart. */
export function floodRefused(
  acceptedNewestFirst: readonly number[],
  now: number,
  rules: Pick<PolicyRules, 'floodMax' | 'floodGapMs'>,
): boolean {
  if (rules.floodMax <= 0 || rules.floodGapMs <= 0) return false;
  return streakLength(acceptedNewestFirst, now, rules.floodGapMs) >= rules.floodMax;
}

/** The flood rule's refusal, in the catalogue's words. */
export function floodReply(phoneDigits: string, rules: Pick<PolicyRules, 'floodMax' | 'floodGapMs'>): Reply {
  return replies.flood(phoneDigits, rules.floodMax, Math.round(rules.floodGapMs / 1000));
}

/** A duplicate's answer: refused (550), or under `duplicate_action: drop` a 250 that says nothing was sent. */
export function duplicateReply(
  phoneDigits: string,
  ageMs: number,
  rules: Pick<PolicyRules, 'duplicateWindowMs'>,
  dropped: boolean,
): Reply {
  const args = [phoneDigits, Math.floor(ageMs / 1000), Math.round(rules.duplicateWindowMs / 1000)] as const;
  return dropped ? replies.duplicateDropped(...args) : replies.duplicate(...args);
}

export function rulesFrom(policy: {
  duplicate_window_s: number;
  duplicate_action: 'reject' | 'drop';
  retransmit_window_s: number;
  flood_max: number;
  flood_gap_s: number;
}): PolicyRules {
  return {
    duplicateWindowMs: policy.duplicate_window_s * 1000,
    duplicateAction: policy.duplicate_action,
    retransmitWindowMs: policy.retransmit_window_s * 1000,
    floodMax: policy.flood_max,
    floodGapMs: policy.flood_gap_s * 1000,
  };
}
