/**
 * The Spool interface over a SpoolStore (any backend) in the same thread. The work thread uses it for the relay
 * and serves it to the SMTP side. What it adds above the store is backend-neutral: the relay's wait for fresh mail,
 * and send outcomes kept in memory while the store refuses writes.
 *
 * Fresh mail meets the relay here: when the relay's claim finds nothing due, it waits (up to `waitMs`), and rows
 * stored meanwhile are stored already 'sending' and handed to it after their commit, without a claim of their
 * own. Rows that do not fit the room it asked for are queued as usual and end the wait, so it claims them.
 */
import type { Logger } from '../ops/log.js';
import type { SendOutcome, SpoolStore } from './store.js';
import type { Spool } from './spool.js';
import { SpoolError, takenRow, type AcceptOutcome, type NewSms, type SmsRow } from './types.js';

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
  outcome: SendOutcome;
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
  /** Settles with the rows handed over once the wait has ended. */
  answer: Promise<SmsRow[]>;
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
    readonly store: SpoolStore,
    private readonly clock: () => number = Date.now,
    private readonly log?: Logger,
  ) {}

  /**
   * A relay outcome (a store may let it ride on its next commit, as SQLite does). If its commit fails the outcome
   * is kept and written again until it commits; the promise then resolves, the relay has nothing more to do about
   * it. An outcome arriving while others wait goes behind them, so a row's outcomes are recorded in order.
   */
  private record(what: string, outcome: SendOutcome): Promise<void> {
    if (this.unrecorded.length > 0) {
      this.unrecorded.push({ what, outcome });
      return Promise.resolve();
    }
    return this.store.record([outcome]).catch((err: unknown) => {
      if (!(err instanceof SpoolError)) throw err;
      if (this.unrecorded.length === 0) {
        this.log?.error(
          { err: err.message, id: outcome.id, what },
          'could not record a send outcome; kept in memory and retried until the spool takes it (the row is ' +
            'not sent again meanwhile)',
        );
      }
      this.unrecorded.push({ what, outcome });
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
      await this.store.record(kept.map((o) => o.outcome));
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
      outcomes = await this.store.accept(stored, now, rules);
    } catch (err) {
      if (w) this.handOver(w, []);
      throw err;
    }
    if (w)
      this.handOver(
        w,
        outcomes.flatMap((o, i) =>
          o.kind === 'queued' && rows[i]?.state === 'queued' ? [takenRow(rows[i], o.id, now)] : [],
        ),
      );
    else if (outcomes.some((o) => o.kind === 'queued')) this.endWait();
    return outcomes;
  };

  claim: Spool['claim'] = async (limit, now, waitMs = 0) => {
    const skip = this.skipWait;
    this.skipWait = false;
    // The wait starts before the store is asked (its answer is a promise): mail stored while it answers is handed
    // over like any other, instead of sitting queued, unseen, until the wait ends.
    const w = waitMs > 0 && !skip ? this.startWait(limit) : undefined;
    let due: number | undefined;
    let claimed = false;
    let rows: SmsRow[] = [];
    try {
      // Nothing due is the usual answer under load (fresh mail is handed over): it then costs a read, not a commit.
      due = await this.store.nextDue();
      claimed = due !== undefined && due <= now;
      if (claimed) {
        // The room is the claim's while it runs: fresh mail meanwhile is queued (and ends the wait) rather than
        // handed over on top of a full claim.
        const room = w ? w.room : limit;
        if (w) w.room = 0;
        rows = await this.store.claim(room, now);
        if (w) w.room = room - rows.length;
      }
    } catch (err) {
      // A store that failed to answer (PostgreSQL down for a moment): mail handed over meanwhile was committed
      // 'sending' and got its 250; it is the relay's, so it goes out with this answer instead of the error.
      if (!w) throw err;
      this.endWait(w);
      const handed = await w.answer;
      if (handed.length === 0) throw err;
      return handed;
    }
    if (!w) return rows;
    if (rows.length > 0 || w.done) {
      this.endWait(w);
      return [...rows, ...(await w.answer)];
    }
    // Read again only if the claim (and the wait for its commit) let other writes in.
    if (claimed) due = await this.store.nextDue();
    const wait = Math.max(1, due === undefined ? waitMs : Math.min(waitMs, due - now));
    this.dueAt(this.clock() + wait);
    return w.answer;
  };

  /** A wait the relay's claim is in (see claim); it ends by endWait, a hand-over, or a row falling due. */
  private startWait(room: number): Waiter {
    this.endWait();
    let resolve: (rows: SmsRow[]) => void = () => undefined;
    const answer = new Promise<SmsRow[]>((r) => (resolve = r));
    const w: Waiter = { room, rows: [], inFlight: 0, deadline: Infinity, done: false, resolve, answer };
    this.waiter = w;
    return w;
  }

  /** Rows were queued by another node of a shared database: a waiting claim ends now and claims them. */
  queuedElsewhere(): void {
    // Between two claims (none waiting), the next one must not wait: the announced rows may have committed after
    // the last claim read the queue.
    if (this.waiter) this.endWait();
    else this.skipWait = true;
  }

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

  recentAccepted: Spool['recentAccepted'] = (recipient, limit) => this.store.recentAccepted(recipient, limit);
  acceptedSince: Spool['acceptedSince'] = (since) => this.store.acceptedSince(since);
  // The relay never waits for its bookkeeping's commit: see record.
  submitted: Spool['submitted'] = (id, part, smscId, last, now) =>
    this.record(`part ${part} submitted as ${smscId}${last ? ' (last)' : ''}`, {
      op: 'submitted',
      id,
      part,
      smscId,
      last,
      now,
    });
  reschedule: Spool['reschedule'] = async (id, how) => {
    await this.record(`rescheduled: ${how.reason}`, { op: 'reschedule', id, ...how });
    this.dueAt(how.nextAt);
  };
  finish: Spool['finish'] = (id, state, reason, now) =>
    this.record(`${state}: ${reason}`, { op: 'finish', id, state, reason, now });
  applyReceipt: Spool['applyReceipt'] = (...a) => this.store.applyReceipt(...a);
  /** Not while send outcomes wait here unwritten: a part id among them may be a kept receipt's exact form. */
  resolveEarlyReceipts: Spool['resolveEarlyReceipts'] = (...a) =>
    this.unrecorded.length > 0 ? Promise.resolve([]) : this.store.resolveEarlyReceipts(...a);
  storeInbound: Spool['storeInbound'] = (...a) => this.store.storeInbound(...a);
  storeReplyPart: Spool['storeReplyPart'] = (...a) => this.store.storeReplyPart(...a);
  expireReplyParts: Spool['expireReplyParts'] = (...a) => this.store.expireReplyParts(...a);
  requeueSending: Spool['requeueSending'] = (now) => this.store.requeueSending(now);
  expireQueued: Spool['expireQueued'] = (...a) => this.store.expireQueued(...a);
  prune: Spool['prune'] = (before) => this.store.prune(before);
  pendingCount: Spool['pendingCount'] = () => this.store.pendingCount();
  countsByState: Spool['countsByState'] = () => this.store.countsByState();
  oldestQueuedAt: Spool['oldestQueuedAt'] = () => this.store.oldestQueuedAt();
  byQueueId: Spool['byQueueId'] = (queueId) => this.store.byQueueId(queueId);
  listMessages: Spool['listMessages'] = (filter) => this.store.listMessages(filter);
  dailyCounts: Spool['dailyCounts'] = (scope, since) => this.store.dailyCounts(scope, since);
  cancelQueued: Spool['cancelQueued'] = (id, scope, reason, now) => this.store.cancelQueued(id, scope, reason, now);
  outboxFor: Spool['outboxFor'] = (queueId) => this.store.outboxFor(queueId);
  /** Kept outcomes get one last try; those that still cannot be recorded are named, as their SMS go out again. */
  close: Spool['close'] = async () => {
    this.endWait();
    clearTimeout(this.recordTimer);
    this.recordTimer = undefined;
    if (!(await this.recordKept())) {
      for (const o of this.unrecorded) {
        this.log?.fatal(
          { id: o.outcome.id, outcome: o.what },
          'send outcome could not be recorded before stopping: this row is still "sending" and its SMS goes ' +
            'out again at the next start',
        );
      }
    }
    await this.store.close();
  };
}
