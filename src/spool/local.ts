/**
 * The Spool interface over SqliteSpool in the same thread: every write goes through the group commit. The
 * delivery thread uses it for its own work and to serve the main thread's calls.
 */
import type { SqliteSpool } from './sqlite.js';
import type { AcceptOutcome, NewSms, Spool } from './types.js';

export class LocalSpool implements Spool {
  constructor(readonly store: SqliteSpool) {}

  accept: Spool['accept'] = (rows, now, rules, sending = false) =>
    this.store.batch((): AcceptOutcome[] => {
      if (rules) return this.store.acceptChecked(rows, now, rules, sending);
      const taken = sending ? rows.map((r): NewSms => (r.state === 'queued' ? { ...r, state: 'sending' } : r)) : rows;
      return this.store.accept(taken, now).map((id) => ({ kind: 'queued', id }));
    });
  recentAccepted: Spool['recentAccepted'] = async (recipient, limit) => this.store.recentAccepted(recipient, limit);
  acceptedSince: Spool['acceptedSince'] = async (since) => this.store.acceptedSince(since);
  claim: Spool['claim'] = (limit, now) => this.store.batch(() => this.store.claim(limit, now));
  // The relay's bookkeeping rides on the next commit (see SqliteSpool.batch): it never waits for a commit itself.
  submitted: Spool['submitted'] = (id, part, smscId, last, now) => this.store.batch(() => this.store.recordPart(id, part, smscId, now, last), true);
  reschedule: Spool['reschedule'] = (...a) => this.store.batch(() => this.store.reschedule(...a), true);
  finish: Spool['finish'] = (...a) => this.store.batch(() => this.store.finish(...a), true);
  applyReceipt: Spool['applyReceipt'] = (...a) => this.store.batch(() => this.store.applyReceipt(...a), true);
  storeInbound: Spool['storeInbound'] = (...a) => this.store.batch(() => this.store.storeInbound(...a));
  requeueSending: Spool['requeueSending'] = (now) => this.store.batch(() => this.store.requeueSending(now));
  expireQueued: Spool['expireQueued'] = (...a) => this.store.batch(() => this.store.expireQueued(...a));
  prune: Spool['prune'] = (before) => this.store.batch(() => this.store.prune(before));
  nextDue: Spool['nextDue'] = async () => this.store.nextDue();
  pendingCount: Spool['pendingCount'] = async () => this.store.pendingCount();
  countsByState: Spool['countsByState'] = async () => this.store.countsByState();
  oldestQueuedAt: Spool['oldestQueuedAt'] = async () => this.store.oldestQueuedAt();
  byQueueId: Spool['byQueueId'] = async (queueId) => this.store.byQueueId(queueId);
  close: Spool['close'] = async () => this.store.close();
}
