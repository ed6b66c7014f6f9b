/**
 * The Spool interface over SqliteSpool in the same thread: every write goes through the group commit. The work
 * thread uses it for the relay and serves it to the SMTP side.
 *
 * Fresh mail meets the relay here: when the relay's claim finds nothing due, it waits (up to `waitMs`), and rows
 * stored meanwhile are stored already 'sending' and handed to it after their commit, without a claim of their
 * own. Rows that do not fit the room it asked for are queued as usual and end the wait, so it claims them.
 */
import type { Logger } from '../ops/log.js';
import type { SqliteSpool } from './sqlite.js';
import { SpoolError, takenRow, type AcceptOutcome, type NewSms, type SmsRow, type Spool } from './types.js';

/**
 * Under load a wait goes on this long after its first hand-over, so that the commits of that time reach the relay
 * as one batch: their submits leave in one write, and their responses and receipts come back together. Handed
 * over one commit at a time (a few mails each under load), the work thread spent 16–19 µs more CPU per mail, the
 * load generator and simulator 7–12 µs more, and the full path ran 2.5–4.4% slower (bench, 3 interleaved pairs on
 * a quiet machine; 4 ms gathered no more than 2). "Under load" is a hand-over within BUSY_MS of the one before:
 * a lone mail (an alert at night) goes out at once instead of 2 ms later. A wait whose room is full ends at once.
 */
const GATHER_MS = 2;
const BUSY_MS = 5;
/** Back-off between attempts to record send outcomes whose commit failed: from the first to the longest. */
const RECORD_RETRY_MIN_MS = 100;
const RECORD_RETRY_MAX_MS = 5000;

/** A send outcome (submitted, rescheduled, finished) whose commit failed: kept here until it commits. */
interface Unrecorded {
  what: string;
  id: number;
  write: () => void;
}

interface Waiter {
  room: number;
  rows: SmsRow[];
  /** Accepts that took room and have not committed yet: the wait ends after the last of them. */
  inFlight: number;
  deadline: number;
  timer?: NodeJS.Timeout;
  /** Runs from the first hand-over: the wait ends when it fires (see GATHER_MS). */
  gather?: NodeJS.Timeout;
  done: boolean;
  resolve(rows: SmsRow[]): void;
}

export class LocalSpool implements Spool {
  private waiter: Waiter | undefined;
  private skipWait = false;
  private lastHandOver = -Infinity;
  /**
   * Outcomes of SMS that reached the SMSC (or were decided) but could not be recorded (disk full, read-only…), in
   * the order they came. Their rows stay 'sending' in the spool, which no claim takes, so they are not sent again
   * while their outcome waits here; a restart with outcomes still here would send them again (see close).
   */
  private unrecorded: Unrecorded[] = [];
  private recordTimer: NodeJS.Timeout | undefined;
  private recordDelay = RECORD_RETRY_MIN_MS;

  constructor(
    readonly store: SqliteSpool,
    private readonly clock: () => number = Date.now,
    private readonly log?: Logger,
  ) {}

  /**
   * A relay outcome: rides on the next commit (see SqliteSpool.batch). If that commit fails the outcome is kept
   * and written again until it commits; the promise then resolves, the relay has nothing more to do about it. An
   * outcome arriving while others wait goes behind them, so a row's outcomes are recorded in order.
   */
  private record(what: string, id: number, write: () => void): Promise<void> {
    if (this.unrecorded.length > 0) {
      this.unrecorded.push({ what, id, write });
      return Promise.resolve();
    }
    return this.store.batch(write, true).catch((err: unknown) => {
      if (!(err instanceof SpoolError)) throw err;
      if (this.unrecorded.length === 0) {
        this.log?.error(
          { err: err.message, id, what },
          'could not record a send outcome; kept in memory and retried until the spool takes it (the row is not sent again meanwhile)',
        );
      }
      this.unrecorded.push({ what, id, write });
      this.recordLater();
    });
  }

  private recordLater(): void {
    if (this.recordTimer) return;
    this.recordTimer = setTimeout(() => {
      this.recordTimer = undefined;
      void this.recordKept().then((ok) => {
        if (ok) return;
        this.recordDelay = Math.min(this.recordDelay * 2, RECORD_RETRY_MAX_MS);
        this.recordLater();
      });
    }, this.recordDelay);
    this.recordTimer.unref();
  }

  /** Write every kept outcome in one transaction, in order; true when they committed (or there were none). */
  private async recordKept(): Promise<boolean> {
    const kept = this.unrecorded.slice();
    if (kept.length === 0) return true;
    try {
      await this.store.batch(() => {
        for (const o of kept) o.write();
      });
    } catch {
      return false;
    }
    this.unrecorded.splice(0, kept.length);
    this.recordDelay = RECORD_RETRY_MIN_MS;
    this.log?.warn({ recorded: kept.length }, 'send outcomes kept in memory are recorded now');
    // Outcomes that came while this commit ran are written next.
    if (this.unrecorded.length > 0) this.recordLater();
    return true;
  }

  accept: Spool['accept'] = async (rows, now, rules) => {
    const fresh = rows.filter((r) => r.state === 'queued').length;
    const w = this.waiter && fresh > 0 && this.waiter.room >= fresh ? this.waiter : undefined;
    if (w) {
      w.room -= fresh;
      w.inFlight++;
    }
    let outcomes: AcceptOutcome[];
    try {
      // Rows the waiting relay takes are stored already 'sending'.
      const stored = w ? rows.map((r): NewSms => (r.state === 'queued' ? { ...r, state: 'sending' } : r)) : rows;
      outcomes = await this.store.batch((): AcceptOutcome[] =>
        rules ? this.store.acceptChecked(stored, now, rules) : this.store.accept(stored, now).map((id) => ({ kind: 'queued', id })),
      );
    } catch (err) {
      if (w) this.handOver(w, []);
      throw err;
    }
    if (w) this.handOver(w, outcomes.flatMap((o, i) => (o.kind === 'queued' && rows[i]?.state === 'queued' ? [takenRow(rows[i], o.id, now)] : [])));
    else if (outcomes.some((o) => o.kind === 'queued')) this.endWait();
    return outcomes;
  };

  claim: Spool['claim'] = async (limit, now, waitMs = 0) => {
    // Nothing due is the usual answer under load (fresh mail is handed over): it then costs a read, not a commit.
    let due = this.store.nextDue();
    const claimed = due !== undefined && due <= now;
    const rows = claimed ? await this.store.batch(() => this.store.claim(limit, now)) : [];
    const skip = this.skipWait;
    this.skipWait = false;
    if (rows.length > 0 || waitMs <= 0 || skip) return rows;
    // Read again only if the claim (and the wait for its commit) let other writes in.
    if (claimed) due = this.store.nextDue();
    const wait = Math.max(1, due === undefined ? waitMs : Math.min(waitMs, due - now));
    this.endWait();
    return new Promise<SmsRow[]>((resolve) => {
      const w: Waiter = { room: limit, rows: [], inFlight: 0, deadline: this.clock() + wait, done: false, resolve };
      w.timer = setTimeout(() => this.endWait(w), wait);
      this.waiter = w;
    });
  };

  /** The relay is stopping: end its wait now (with whatever was handed over), or the next one if it is between two. */
  stopWaiting: Spool['stopWaiting'] = async () => {
    if (this.waiter) this.endWait();
    else this.skipWait = true;
  };

  private handOver(w: Waiter, rows: SmsRow[]): void {
    w.rows.push(...rows);
    w.inFlight--;
    const now = this.clock();
    const busy = now - this.lastHandOver < BUSY_MS;
    this.lastHandOver = now;
    if (busy && this.waiter === w && w.room > 0) {
      w.gather ??= setTimeout(() => this.endWait(w), GATHER_MS);
      return;
    }
    this.endWait(w);
  }

  /** No more rows join this wait; it answers once the accepts that took room have committed. */
  private endWait(w = this.waiter): void {
    if (!w) return;
    if (this.waiter === w) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      clearTimeout(w.gather);
    }
    if (w.inFlight === 0 && !w.done) {
      w.done = true;
      w.resolve(w.rows);
    }
  }

  /** A row becomes due at `at`: a wait lasting beyond that ends then, so the relay claims it on time. */
  private dueAt(at: number): void {
    const w = this.waiter;
    if (!w || at >= w.deadline) return;
    clearTimeout(w.timer);
    w.deadline = at;
    w.timer = setTimeout(() => this.endWait(w), Math.max(0, at - this.clock()));
  }

  recentAccepted: Spool['recentAccepted'] = async (recipient, limit) => this.store.recentAccepted(recipient, limit);
  acceptedSince: Spool['acceptedSince'] = async (since) => this.store.acceptedSince(since);
  // The relay's bookkeeping rides on the next commit (see SqliteSpool.batch): it never waits for a commit itself.
  submitted: Spool['submitted'] = (id, part, smscId, last, now) =>
    this.record(`part ${part} submitted as ${smscId}${last ? ' (last)' : ''}`, id, () => this.store.recordPart(id, part, smscId, now, last));
  reschedule: Spool['reschedule'] = async (id, reason, nextAt, now, parts, countAttempt) => {
    await this.record(`rescheduled: ${reason}`, id, () => this.store.reschedule(id, reason, nextAt, now, parts, countAttempt));
    this.dueAt(nextAt);
  };
  finish: Spool['finish'] = (id, state, reason, now) => this.record(`${state}: ${reason}`, id, () => this.store.finish(id, state, reason, now));
  applyReceipt: Spool['applyReceipt'] = (...a) => this.store.batch(() => this.store.applyReceipt(...a), true);
  storeInbound: Spool['storeInbound'] = (...a) => this.store.batch(() => this.store.storeInbound(...a));
  requeueSending: Spool['requeueSending'] = (now) => this.store.batch(() => this.store.requeueSending(now));
  expireQueued: Spool['expireQueued'] = (...a) => this.store.batch(() => this.store.expireQueued(...a));
  prune: Spool['prune'] = (before) => this.store.batch(() => this.store.prune(before));
  pendingCount: Spool['pendingCount'] = async () => this.store.pendingCount();
  countsByState: Spool['countsByState'] = async () => this.store.countsByState();
  oldestQueuedAt: Spool['oldestQueuedAt'] = async () => this.store.oldestQueuedAt();
  byQueueId: Spool['byQueueId'] = async (queueId) => this.store.byQueueId(queueId);
  /** Kept outcomes get one last try; those that still cannot be recorded are named, as their SMS go out again. */
  close: Spool['close'] = async () => {
    this.endWait();
    clearTimeout(this.recordTimer);
    this.recordTimer = undefined;
    if (!(await this.recordKept())) {
      for (const o of this.unrecorded) {
        this.log?.fatal(
          { id: o.id, outcome: o.what },
          'send outcome could not be recorded before stopping: this row is still "sending" and its SMS goes out again at the next start',
        );
      }
    }
    this.store.close();
  };
}
