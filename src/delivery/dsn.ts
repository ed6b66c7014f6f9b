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

/**
 * The enhanced status of a failure, by the provider's err (RFC 3463), the phone standing for the mailbox: no such
 * subscriber X.1.1, a malformed number X.1.3, blocked X.2.1 (mailbox disabled), the per-number limit X.2.2, a phone
 * off or out of coverage X.4.1 (no answer), no route X.4.4, refused by the operator's rules X.7.1.
 */
function failureStatus(err: string | undefined): string {
  switch (Number.parseInt(err ?? '', 10)) {
    case 1:
      return '5.1.1';
    case 249:
      return '5.1.3';
    case 13:
      return '5.2.1';
    case 251:
      return '5.2.2';
    case 6:
      return '5.4.1';
    case 248:
      return '5.4.4';
    case 253:
    case 254:
    case 255:
      return '5.7.1';
    default:
      return '5.0.0';
  }
}

/**
 * SMPP command_status names (SMPP 3.4 § 5.1.3) that say which part of a mail was wrong, as the enhanced status
 * (RFC 3463) of a report: the destination number is the mailbox (X.1.1; its TON/NPI its syntax, X.1.3, as err 249
 * "bad number format"), the sender ID the sender's address (X.1.7), the length the message's size (X.3.4), and
 * throttling or a full queue congestion (X.4.5 / X.3.1). The class (4 or 5) is the report's: a failed report is
 * always 5.x.x, a delayed one 4.x.x.
 */
const SMPP_STATUS: Readonly<Record<string, string>> = {
  ESME_RINVDSTADR: '1.1',
  ESME_RINVDSTTON: '1.3',
  ESME_RINVDSTNPI: '1.3',
  ESME_RINVSRCADR: '1.7',
  ESME_RINVSRCTON: '1.7',
  ESME_RINVSRCNPI: '1.7',
  ESME_RINVMSGLEN: '3.4',
  ESME_RTHROTTLED: '4.5',
  ESME_RMSGQFUL: '3.1',
};

/**
 * The SMPP command_status a stored reason names ("SMSC refused: ESME_RINVDSTADR", "ESME_RSYSERR; gave up …", an
 * unnamed "SMSC refused: 0x00000401"): then the SMSC's answer decided it.
 */
function smppStatusOf(reason: string | null): string | undefined {
  return /\b(ESME_R[A-Z_]+|0x[0-9a-f]+)\b/i.exec(reason ?? '')?.[1];
}

export interface ReportDecision {
  action: ReportAction;
  status: string;
  /**
   * RFC 3464 Diagnostic-Code, whose type is `smtp` or an `X-` one: `X-smpp; stat:UNDELIV err:001` for what the
   * SMSC said (a receipt, a submit_sm_resp status), `smtp; 550 5.4.7 <reason>` for a failure of this gateway's
   * own (not sent in time, cancelled), the reply it would give for that recipient.
   */
  diagnostic: string | null;
}

/** A recipient's row state → the report it calls for; undefined for states that call for none (yet). */
export function reportFor(state: string, reason: string | null): ReportDecision | undefined {
  const receipt = receiptOf(reason);
  const smpp = receipt ? `X-smpp; stat:${receipt.stat}${receipt.err !== undefined ? ` err:${receipt.err}` : ''}` : null;
  switch (state) {
    case 'delivered':
      return { action: 'delivered', status: '2.0.0', diagnostic: smpp ?? 'X-smpp; stat:DELIVRD' };
    case 'undeliverable': {
      const status = receipt ? failureStatus(receipt.err) : statusOf(5, reason, '0.0');
      return { action: 'failed', status, diagnostic: smpp ?? diagnosticOf(status, reason) };
    }
    case 'expired':
      return { action: 'failed', status: '5.4.7', diagnostic: smpp ?? diagnosticOf('5.4.7', reason) };
    case 'failed':
    case 'cancelled': {
      const status = statusOf(5, reason, '0.0');
      return { action: 'failed', status, diagnostic: diagnosticOf(status, reason) };
    }
    default:
      return undefined;
  }
}

/** `class.subject.detail` from the SMPP status the reason names, or `fallback` (`subject.detail`). */
function statusOf(cls: 4 | 5, reason: string | null, fallback: string): string {
  const status = smppStatusOf(reason);
  return `${cls}.${(status && SMPP_STATUS[status]) ?? fallback}`;
}

/** What the SMSC answered as `X-smpp`; a failure of this gateway's own as the SMTP reply it stands for. */
function diagnosticOf(status: string, reason: string | null): string | null {
  if (!reason) return null;
  const text = reason.replace(/[\r\n]+/g, ' ');
  if (smppStatusOf(reason)) return `X-smpp; ${text}`;
  return `smtp; ${status.startsWith('4') ? 451 : 550} ${status} ${text}`;
}

/** The reason a person reads in the report's text: the diagnostic without its type and SMTP codes. */
export function diagnosticText(diagnostic: string): string {
  return diagnostic.replace(/^(?:X-smpp|smpp|smtp2sms); /, '').replace(/^smtp; \d{3} \d\.\d{1,3}\.\d{1,3} /, '');
}

/** After submission without a final receipt: relayed (the SMSC took it and may never confirm). */
export const RELAYED: ReportDecision = {
  action: 'relayed',
  status: '2.0.0',
  diagnostic: 'X-smpp; submit_sm_resp command_status:0',
};

/**
 * Still not handed to the SMSC: delayed, once (RFC 3464 4.x.x: transient). The status says why when the last try's
 * SMPP status does (throttling: 4.4.5, the SMSC's queue full: 4.3.1); otherwise 4.4.1, no answer (no bind is up).
 */
export function delayedFor(reason: string | null): ReportDecision {
  const status = statusOf(4, reason, '4.1');
  return { action: 'delayed', status, diagnostic: smppStatusOf(reason) ? diagnosticOf(status, reason) : null };
}
