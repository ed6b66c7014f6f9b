/**
 * Delivery status notifications (RFC 3461 / 3464), decided from a recipient's facts: which report a state calls
 * for, whether the sender asked for it, and the status and diagnostic it carries. Pure: the spool reads the facts,
 * these functions decide, the outbox builds and sends the mail.
 */

export type NotifyKind = 'success' | 'failure' | 'delay';
export type ReportAction = 'delivered' | 'failed' | 'delayed' | 'relayed';

/** What RCPT TO's NOTIFY said: the kinds asked for, 'never', or nothing (null: the configured default applies). */
export type NotifyRequest = readonly NotifyKind[] | 'never' | null;

/** NOTIFY as stored with a row: null when the client gave none, 'NEVER', or e.g. 'SUCCESS,FAILURE'. */
export function parseNotify(stored: string | null | undefined): NotifyRequest {
  if (stored === null || stored === undefined || stored === '') return null;
  const words = stored
    .toUpperCase()
    .split(',')
    .map((w) => w.trim());
  if (words.includes('NEVER')) return 'never';
  return words.flatMap((w): NotifyKind[] =>
    w === 'SUCCESS' ? ['success'] : w === 'FAILURE' ? ['failure'] : w === 'DELAY' ? ['delay'] : [],
  );
}

/** smtp-server's rcptTo[i].dsn.notify (an array of words) → the stored form. */
export function storedNotify(notify: readonly string[] | undefined): string | null {
  return notify && notify.length > 0 ? notify.map((n) => n.toUpperCase()).join(',') : null;
}

const KIND_OF: Record<ReportAction, NotifyKind> = {
  delivered: 'success',
  relayed: 'success',
  failed: 'failure',
  delayed: 'delay',
};

/** Did the sender ask for this report (or, without NOTIFY, does the configured default say so)? */
export function wantsReport(
  action: ReportAction,
  notify: NotifyRequest,
  defaultNotify: readonly NotifyKind[],
): boolean {
  if (notify === 'never') return false;
  return (notify ?? defaultNotify).includes(KIND_OF[action]);
}

/**
 * Never a report to the null sender (it is itself a report, RFC 5321 §4.5.5) nor about an automatic mail
 * (Auto-Submitted other than "no", RFC 3834): two gateways must not bounce reports at each other.
 */
export function mayReportTo(mailFrom: string | null, autoSubmitted: string | null): boolean {
  if (!mailFrom || mailFrom === '<>') return false;
  return autoSubmitted === null || autoSubmitted.trim().toLowerCase().startsWith('no');
}

/** The provider's err codes (design notes §1) in words, for the report a person reads. */
export const ERR_MEANING: Readonly<Record<number, string>> = {
  0: 'no error',
  1: 'subscriber does not exist',
  6: 'subscriber not in the network',
  9: 'duplicate request',
  13: 'subscriber blocked',
  220: 'operator queue full',
  240: 'subscriber busy',
  248: 'no route to the subscriber',
  249: 'bad number format',
  251: 'per-number limit reached',
  253: 'refused by the spam filter',
  254: 'sender ID not registered',
  255: 'rejected by the operator',
};

export const STAT_MEANING: Readonly<Record<string, string>> = {
  DELIVRD: 'delivered to the phone',
  UNDELIV: 'undeliverable',
  EXPIRED: 'not delivered before its validity ended',
  DELETED: 'deleted by the SMSC',
  REJECTD: 'rejected by the SMSC',
  UNKNOWN: 'state unknown to the SMSC',
  ACCEPTD: 'accepted by the SMSC',
};

/** stat and err out of a row's reason ("receipt stat:UNDELIV err:001"), when a receipt settled it. */
export function receiptOf(reason: string | null): { stat: string; err: string | undefined } | undefined {
  const m = /stat:([A-Z]+)(?: err:(\S+))?/.exec(reason ?? '');
  return m ? { stat: m[1] as string, err: m[2] } : undefined;
}

/** "stat:UNDELIV (undeliverable), err:001 (subscriber does not exist)" */
export function describeReceipt(stat: string, err: string | undefined): string {
  const s = `stat:${stat}${STAT_MEANING[stat] ? ` (${STAT_MEANING[stat]})` : ''}`;
  if (err === undefined) return s;
  const meaning = ERR_MEANING[Number.parseInt(err, 10)];
  return `${s}, err:${err}${meaning ? ` (${meaning})` : ''}`;
}

/** The enhanced status of a failure, by the provider's err (RFC 3463 classes). */
function failureStatus(err: string | undefined): string {
  switch (Number.parseInt(err ?? '', 10)) {
    case 1:
      return '5.1.1';
    case 6:
    case 248:
      return '5.1.2';
    case 249:
      return '5.1.3';
    case 13:
    case 253:
    case 254:
    case 255:
      return '5.7.1';
    case 251:
      return '5.2.2';
    default:
      return '5.0.0';
  }
}

export interface ReportDecision {
  action: ReportAction;
  status: string;
  /** RFC 3464 Diagnostic-Code: `smpp; stat:UNDELIV err:001`, or `smtp2sms; <reason>` for local failures. */
  diagnostic: string | null;
}

/** A recipient's row state → the report it calls for; undefined for states that call for none (yet). */
export function reportFor(state: string, reason: string | null): ReportDecision | undefined {
  const receipt = receiptOf(reason);
  const smpp = receipt ? `smpp; stat:${receipt.stat}${receipt.err !== undefined ? ` err:${receipt.err}` : ''}` : null;
  switch (state) {
    case 'delivered':
      return { action: 'delivered', status: '2.0.0', diagnostic: smpp ?? 'smpp; stat:DELIVRD' };
    case 'undeliverable':
      return { action: 'failed', status: failureStatus(receipt?.err), diagnostic: smpp ?? local(reason) };
    case 'expired':
      return { action: 'failed', status: '5.4.7', diagnostic: smpp ?? local(reason) };
    case 'failed':
    case 'cancelled':
      return { action: 'failed', status: '5.0.0', diagnostic: local(reason) };
    default:
      return undefined;
  }
}

function local(reason: string | null): string | null {
  return reason ? `smtp2sms; ${reason.replace(/[\r\n]+/g, ' ')}` : null;
}

/** After submission without a final receipt: relayed (the SMSC took it and may never confirm). */
export const RELAYED: ReportDecision = {
  action: 'relayed',
  status: '2.0.0',
  diagnostic: 'smpp; submit_sm_resp command_status:0',
};
/** Still not handed to the SMSC: delayed, once (RFC 3464 4.x.x: transient). */
export const DELAYED: ReportDecision = { action: 'delayed', status: '4.4.1', diagnostic: null };
