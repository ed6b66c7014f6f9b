/**
 * DELIVER_SM from the SMSC: delivery receipts update the part they are about; anything else is a reply from a
 * phone and is stored. Every DELIVER_SM is acknowledged (status 0) once it is handled, so the SMSC does not
 * resend it; only a spool failure asks the SMSC to try again later.
 */
import type { Logger } from '../ops/log.js';
import { logReply } from '../outbox/replies.js';
import { readPart, single, type Reassembled } from '../sms/reassembly.js';
import type { ReplySettings, WholeReply } from '../spool/outbox-contract.js';
import { receiptDateMs } from '../delivery/receipt-state.js';
import type { InboundSms, ReceiptUpdate } from '../spool/types.js';
import type { Spool } from '../spool/spool.js';
import { messageBytes, type PDU } from './pdu.js';
import { isReceipt, parseReceipt, type Receipt } from './receipts.js';

export interface DeliverEvents {
  receipt?(receipt: Receipt, matched: boolean): void;
  /** A reply from a phone (mailed back into the mail's thread); without it, replies are only stored. */
  inbound?(msg: InboundSms, now: number): Promise<void>;
}

/** How often waiting reply parts are checked for replies.reassembly_timeout_s (also right after a restart). */
export const sweepEveryMs = (timeoutMs: number): number => Math.max(1000, Math.min(30_000, timeoutMs / 4));

export function deliverHandler(
  spool: Spool,
  systemType: string,
  log: Logger,
  events: DeliverEvents = {},
  now: () => number = Date.now,
  reassemblyTimeoutMs = 300_000,
  replies: ReplySettings | null = null,
  /** How long a kept receipt waits for its exact id: the submit_sm response timeout and the outcome's write. */
  earlyReceiptWaitMs = 15_000,
): { onDeliver: (pdu: PDU) => Promise<number>; stop(): void } {
  // Parts of concatenated replies wait in the spool: the SMSC had its acks, so a restart must not lose them.
  const how = { replies, systemType };
  const settled = (w: WholeReply): void => {
    const r = w.reply;
    if (r.missing.length > 0) {
      const why = 'concatenated SMS incomplete after replies.reassembly_timeout_s: handed over as it is';
      log.warn({ from: r.from, to: r.to, missing: r.missing }, why);
    }
    if (replies) logReply(log, { from: r.from, to: r.to }, w.outcome);
    else log.info({ from: r.from, to: r.to }, 'inbound SMS stored');
  };
  const handOver = async (r: Reassembled): Promise<void> => {
    const msg = { sourceAddr: r.from, destinationAddr: r.to, dataCoding: r.dataCoding, text: r.text };
    if (events.inbound) return events.inbound(msg, now());
    await spool.storeInbound(msg, now());
    log.info({ from: r.from, to: r.to }, 'inbound SMS stored');
  };
  const logReceipt = (u: ReceiptUpdate, facts: { stat?: string; err?: string | undefined; kept?: true }): void =>
    log.info({ queueId: u.queueId, recipient: u.recipient, part: u.part, ...facts, state: u.state }, 'receipt');
  // Kept receipts whose exact id can no longer come (every submit_sm in flight when they came has been answered or
  // has timed out) may now settle a part under another form of their id: chooseReceiptTarget's rule.
  let resolving = false;
  const resolve = setInterval(
    () => {
      if (resolving) return;
      resolving = true;
      spool
        .resolveEarlyReceipts(now() - earlyReceiptWaitMs, now())
        .then((done) => {
          for (const u of done) logReceipt(u, { kept: true });
        })
        .catch((err: unknown) => log.error({ err }, 'kept receipts not tried again; tried at the next sweep'))
        .finally(() => {
          resolving = false;
        });
    },
    Math.max(1000, earlyReceiptWaitMs / 2),
  );
  resolve.unref();
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    spool
      .expireReplyParts(now(), reassemblyTimeoutMs, how)
      .then((done) => done.forEach(settled))
      .catch((err: unknown) => log.error({ err }, 'incomplete SMS replies not stored; tried again at the next sweep'))
      .finally(() => {
        sweeping = false;
      });
  }, sweepEveryMs(reassemblyTimeoutMs));
  sweep.unref();
  const onDeliver = async (pdu: PDU): Promise<number> => {
    const bytes = messageBytes(pdu as unknown as { short_message?: unknown; message_payload?: unknown });
    const esm = Number(pdu.esm_class ?? 0);
    if (isReceipt(esm)) {
      const receipt = parseReceipt(pdu as unknown as Record<string, unknown>, bytes.toString('latin1'));
      if (!receipt) {
        log.warn({ text: bytes.toString('latin1').slice(0, 200) }, 'receipt not understood; acknowledged and ignored');
        return 0;
      }
      const submitAt = receiptDateMs(receipt.submitDate);
      const update = await spool.applyReceipt(receipt.id, receipt.stat, receipt.err, now(), submitAt);
      events.receipt?.(receipt, update !== 'early');
      if (update === 'early') {
        log.info(
          { smscId: receipt.id, stat: receipt.stat },
          'receipt for a message id not known (yet): kept until it is',
        );
        return 0;
      }
      if (update === 'repeat') {
        log.info(
          { smscId: receipt.id, stat: receipt.stat },
          'receipt repeated for a part that already has its final receipt: acknowledged and ignored',
        );
        return 0;
      }
      logReceipt(update, { stat: receipt.stat, err: receipt.err });
      return 0;
    }
    const dataCoding = Number(pdu.data_coding ?? 0);
    const meta = { from: String(pdu.source_addr ?? ''), to: String(pdu.destination_addr ?? ''), dataCoding };
    const part = readPart(esm, bytes, pdu as unknown as Record<string, unknown>);
    if (!part.concat || part.concat.total === 1) {
      await handOver(single(meta, part.body, systemType));
      return 0;
    }
    const { ref, total, seq } = part.concat;
    const whole = await spool.storeReplyPart({ ...meta, ref, total, seq, body: part.body }, now(), how);
    if (whole) settled(whole);
    return 0;
  };
  return {
    onDeliver,
    stop: () => {
      clearInterval(sweep);
      clearInterval(resolve);
    },
  };
}
