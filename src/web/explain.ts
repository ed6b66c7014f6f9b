/**
 * Why a message failed, in words: the stored reason (a receipt's `stat:… err:…`, an SMSC refusal's command_status
 * name, a rule of ours) explained for the sender. The err codes are SMS Center's (shared/design.md §1); SMPP 3.4
 * names the stats.
 */
const STATS: Record<string, string> = {
  DELIVRD: 'delivered to the phone',
  EXPIRED: 'the phone was unreachable until the message expired',
  DELETED: 'deleted by the operator',
  UNDELIV: 'could not be delivered',
  ACCEPTD: 'accepted by the operator',
  UNKNOWN: 'the operator reports an unknown state',
  REJECTD: 'rejected by the operator',
};

/** SMS Center's `err:` codes in receipts. */
const ERRORS: Record<number, string> = {
  1: 'the subscriber does not exist',
  6: 'the subscriber is not in the network (phone off or out of coverage)',
  9: 'a duplicate request: the same message was sent within a minute',
  13: 'the subscriber is blocked',
  220: "the operator's queue is full",
  240: 'the subscriber is busy',
  248: 'no route to this number',
  249: 'the number is badly formed',
  251: 'the per-number limit was hit (more than 50 messages, under 30 s apart)',
  253: "the operator's spam filter refused it",
  254: 'the sender ID is not registered with the operator',
  255: 'rejected by the operator',
};

const SMPP: Record<string, string> = {
  ESME_RINVDSTADR: 'the SMSC refused the destination number',
  ESME_RINVSRCADR: 'the SMSC refused the sender ID',
  ESME_RSUBMITFAIL: 'the SMSC refused the message',
  ESME_RMSGQFUL: "the SMSC's queue was full",
  ESME_RTHROTTLED: 'the SMSC was throttling',
  ESME_RINVMSGLEN: 'the SMSC refused the message length',
};

/** The reason in words, or undefined when there is nothing to explain. */
export function explainReason(reason: string | null): string | undefined {
  if (!reason) return undefined;
  const receipt = /stat:([A-Z]+)(?:\s+err:(\d+))?/.exec(reason);
  if (receipt) {
    const stat = receipt[1] as string;
    const err = receipt[2] === undefined ? undefined : Number(receipt[2]);
    const words = [STATS[stat] ?? `state ${stat}`];
    if (err !== undefined && err !== 0) words.push(ERRORS[err] ?? `operator error ${err}`);
    return `${words.join(': ')} (${reason.trim()})`;
  }
  const smpp = /ESME_R[A-Z]+/.exec(reason);
  if (smpp && SMPP[smpp[0]]) return `${SMPP[smpp[0]]} (${reason})`;
  if (/^duplicate/i.test(reason)) return `refused as a duplicate of a message sent moments before (${reason})`;
  return reason;
}

/** What each state means to a sender. */
export const STATE_WORDS: Record<string, string> = {
  queued: 'waiting to be sent',
  sending: 'being handed to the SMSC',
  submitted: 'accepted by the SMSC, waiting for the delivery receipt',
  delivered: 'delivered',
  undeliverable: 'could not be delivered',
  failed: 'failed',
  expired: 'expired before it could be sent',
  refused: 'refused by the provider rules',
  cancelled: 'cancelled before it was sent',
};
