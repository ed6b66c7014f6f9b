/**
 * The relay: takes due rows from the spool, sends their parts back to back over the binds, and writes every
 * outcome back. Nothing is forgotten in memory: a row is 'sending' in the spool while it is here, and a crash
 * sends it again after restart (at-least-once). With nothing ready, its claim waits in the spool, which hands
 * fresh mail over as it is stored (see spool/local.ts).
 */
import type { Logger } from '../ops/log.js';
import { compositeOpen } from '../policy/composite.js';
import type { SmsRow } from '../spool/types.js';
import type { Spool } from '../spool/spool.js';
import { rowSubmitFields, withNewReference } from './parts.js';
import type { SmppBind } from './session.js';
import { TransientSmppError } from './session.js';
import { statusAction, statusName, type StatusAction } from './status.js';
import type { RateLimiter } from './throttle.js';

export interface RelayOptions {
  registeredDelivery: number;
  maxAttempts: number;
  maxAgeMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  statusOverrides: Record<string, StatusAction>;
  /** The provider's composite window (policy.composite_window_s); 0 = off. */
  compositeWindowMs: number;
  /** Poll interval when idle (a kick() wakes it sooner). */
  idleMs: number;
}

/** What a relay works with. */
export interface RelayParts {
  spool: Spool;
  binds: SmppBind[];
  limiter: RateLimiter;
  options: RelayOptions;
  log: Logger;
  /** The next concatenation reference (a composite sent again whole gets a new one). */
  nextRef: () => number;
  events?: RelayEvents;
  now?: () => number;
  /** False once this node may no longer submit (fenced: spool/postgres/bind-lease.ts); asked before every submit. */
  mayAct?: () => boolean;
}

/** How a message goes back to the queue: `wholeAgain` sends a composite again with a new reference; an attempt
 * not counted (a part retried, no bind up) comes back after a second, not the back-off. */
interface RetryHow {
  wholeAgain?: boolean;
  countAttempt?: boolean;
}

export interface RelayEvents {
  submitted?(row: SmsRow, part: number, latencyMs: number): void;
  throttled?(): void;
  finished?(row: SmsRow, state: string, reason: string): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Delay before retrying one part of a composite inside its window (`smpp.composite_window_s`). */
const PART_RETRY_MS = 1000;

export class Relay {
  private running = false;
  private readonly active = new Set<Promise<void>>();
  /** Claimed rows not yet being sent: claiming a batch at once shares one commit. After a crash they are requeued. */
  private readonly ready: SmsRow[] = [];
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  /** Writes of outcomes not yet committed: stop() waits for them. */
  private readonly writes = new Set<Promise<unknown>>();

  private readonly spool: Spool;
  private readonly binds: SmppBind[];
  private readonly limiter: RateLimiter;
  private readonly opts: RelayOptions;
  private readonly log: Logger;
  private readonly nextRef: () => number;
  private readonly events: RelayEvents;
  private readonly now: () => number;
  private readonly mayAct: () => boolean;

  constructor(parts: RelayParts) {
    this.spool = parts.spool;
    this.binds = parts.binds;
    this.limiter = parts.limiter;
    this.opts = parts.options;
    this.log = parts.log;
    this.nextRef = parts.nextRef;
    this.events = parts.events ?? {};
    this.now = parts.now ?? Date.now;
    this.mayAct = parts.mayAct ?? (() => true);
    for (const b of this.binds) {
      // Every message task waiting for a window slot listens on the binds at once.
      b.setMaxListeners(0);
      b.on('up', () => this.kick());
      b.on('slot', () => this.kick());
      b.on('down', () => this.noBindLeft());
    }
  }

  /**
   * The last bind able to submit went down: rows must wait in the queue, not here as 'sending', so that a sender
   * can still cancel them (the web page) while the SMSC is away. The claim's wait for fresh mail ends now (mail
   * stored meanwhile would be handed over 'sending'), and the loop puts back what it holds (see loop).
   */
  private noBindLeft(): void {
    if (this.binds.some((b) => b.canSubmit)) return;
    void this.spool.stopWaiting().catch(() => undefined);
    this.kick();
  }

  /** A bind came up or a slot freed: look for work now. */
  kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stop taking rows; wait (up to `timeoutMs`) for messages already being sent. */
  async stop(timeoutMs: number): Promise<void> {
    this.running = false;
    this.kick();
    await this.spool.stopWaiting().catch(() => undefined);
    await this.loopDone;
    await Promise.race([Promise.all([...this.active]), sleep(timeoutMs)]);
    this.requeue(this.ready.splice(0));
    await Promise.all([...this.writes]);
  }

  /** Taken but never sent: back to the queue now rather than at the next start. */
  private requeue(rows: SmsRow[], reason?: string): void {
    const now = this.now();
    for (const row of rows) {
      this.track(
        this.spool.reschedule(row.id, { reason: reason ?? row.reason ?? '', nextAt: now, now, countAttempt: false }),
      );
    }
  }

  /**
   * An outcome write the sender does not wait for. One the spool cannot commit is kept there and written again
   * until it does (spool/local.ts); a failure here is anything else, and leaves the row 'sending' (sent again at
   * the next start).
   */
  private track(write: Promise<unknown>): void {
    this.writes.add(write);
    write.then(
      () => this.writes.delete(write),
      (err: unknown) => {
        this.writes.delete(write);
        this.log.error({ err }, 'could not record a send outcome; the row goes out again at the next start');
      },
    );
  }

  private capacity(): number {
    return this.binds.reduce((n, b) => n + b.free, 0);
  }

  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      // Taken (or handed over) while the last bind went down: back to the queue, where they can be cancelled.
      if (this.ready.length > 0 && !this.binds.some((b) => b.canSubmit)) {
        this.requeue(this.ready.splice(0), 'no SMPP bind is up');
      }
      const capacity = this.capacity();
      const room = capacity - this.active.size;
      if (room <= 0) {
        await this.idle(this.opts.idleMs);
        continue;
      }
      if (this.ready.length < room) {
        try {
          const want = capacity * 2 - this.ready.length;
          // With nothing ready, wait in the spool: fresh mail is handed over as it is stored.
          const claimed = await this.spool.claim(want, this.now(), this.ready.length === 0 ? this.opts.idleMs : 0);
          if (!this.running) {
            this.requeue(claimed);
            break;
          }
          this.ready.push(...claimed);
        } catch (err) {
          this.log.error({ err }, 'spool read failed; retrying');
          await this.idle(this.opts.idleMs);
          continue;
        }
      }
      if (this.ready.length === 0) continue;
      const rows = this.ready.splice(0, Math.max(0, this.capacity() - this.active.size));
      for (const row of rows) {
        const task = this.send(row).catch((err: unknown) => {
          this.log.error({ err, queueId: row.queueId, id: row.id }, 'sending failed unexpectedly; will retry');
          return this.retry(row, 'internal error').catch((e: unknown) =>
            this.log.error({ err: e }, 'could not reschedule; the row is requeued at the next start'),
          );
        });
        this.active.add(task);
        void task.finally(() => {
          this.active.delete(task);
          this.kick();
        });
      }
    }
  }

  /** A bound session with a free slot, waiting (up to a second) for one when all are busy. */
  private async pickBind(): Promise<SmppBind | undefined> {
    const deadline = Date.now() + 1000;
    for (;;) {
      const best = this.binds.filter((b) => b.free > 0).sort((a, b) => b.free - a.free)[0];
      if (best) return best;
      if (!this.binds.some((b) => b.canSubmit) || Date.now() >= deadline) return undefined;
      await this.nextSlot(deadline - Date.now());
    }
  }

  /** Resolves when any bind frees a window slot or comes up, or after `ms`. */
  private nextSlot(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const b of this.binds) {
          b.off('slot', done);
          b.off('up', done);
        }
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const b of this.binds) {
        b.once('slot', done);
        b.once('up', done);
      }
    });
  }

  private backoffMs(attempts: number): number {
    const base = Math.min(this.opts.retryBaseMs * 2 ** Math.max(0, attempts - 1), this.opts.retryMaxMs);
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  /** Back to the queue with back-off, or expired when out of attempts or time. */
  private async retry(row: SmsRow, reason: string, how: RetryHow = {}): Promise<void> {
    const { wholeAgain = false, countAttempt = true } = how;
    const now = this.now();
    if (countAttempt && (row.attempts >= this.opts.maxAttempts || now - row.createdAt >= this.opts.maxAgeMs)) {
      const why = `${reason}; gave up after ${row.attempts} attempts`;
      await this.spool.finish(row.id, 'expired', why, now);
      this.events.finished?.(row, 'expired', why);
      this.log.warn({ queueId: row.queueId, recipient: row.recipient, reason: why }, 'message expired');
      return;
    }
    const delay = countAttempt ? this.backoffMs(row.attempts) : PART_RETRY_MS;
    const parts = wholeAgain ? withNewReference(row.parts, this.nextRef()) : undefined;
    await this.spool.reschedule(row.id, {
      reason,
      nextAt: now + delay,
      now,
      ...(parts ? { parts } : {}),
      countAttempt,
    });
    this.log.info(
      { queueId: row.queueId, recipient: row.recipient, reason, retryInMs: delay, wholeAgain },
      'message will be retried',
    );
  }

  private async send(row: SmsRow): Promise<void> {
    // Fields, not a child logger: a child per message cost more than the rare lines it would write.
    const ids = { queueId: row.queueId, recipient: row.recipient };
    // Parts accepted before a crash or a failed attempt carry the old reference: send the whole message again.
    if (row.parts.length > 1 && row.smscIds.some((id) => id !== null)) {
      await this.retry(row, 'composite interrupted; sending it again whole with a new reference', {
        wholeAgain: true,
        countAttempt: false,
      });
      return;
    }
    const fields = rowSubmitFields(row, this.opts.registeredDelivery);
    let firstAt: number | undefined;
    for (let part = 0; part < fields.length; part++) {
      for (;;) {
        if (firstAt !== undefined && !compositeOpen(firstAt, this.now(), this.opts.compositeWindowMs)) {
          await this.retry(
            row,
            `parts could not all be sent within the ${this.opts.compositeWindowMs / 1000} s composite window`,
            { wholeAgain: true },
          );
          return;
        }
        const wait = this.limiter.take();
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        const bind = await this.pickBind();
        if (!bind) {
          if (part === 0) return await this.retry(row, 'no SMPP bind is up', { countAttempt: false });
          await sleep(PART_RETRY_MS);
          continue;
        }
        // Fenced (a process that woke from a freeze asks here first): nothing more leaves, nothing is written; the
        // row stays 'sending' for the next holder to requeue.
        if (!this.mayAct()) return;
        const started = this.now();
        let outcome: { status: number; messageId: string } | TransientSmppError;
        try {
          outcome = await bind.submit(fields[part] as unknown as Record<string, unknown>);
        } catch (err) {
          if (!(err instanceof TransientSmppError)) {
            // Thrown synchronously by the codec (a malformed PDU): the message cannot be sent as it is.
            const reason = `PDU could not be built: ${(err as Error).message}`;
            await this.spool.finish(row.id, 'failed', reason, this.now());
            this.events.finished?.(row, 'failed', reason);
            this.log.error({ ...ids, reason }, 'message failed');
            return;
          }
          outcome = err;
        }
        const action: StatusAction =
          outcome instanceof TransientSmppError ? 'retry' : statusAction(outcome.status, this.opts.statusOverrides);
        const reason = outcome instanceof TransientSmppError ? outcome.message : statusName(outcome.status);
        if (action === 'ok' && !(outcome instanceof TransientSmppError)) {
          const { messageId } = outcome;
          const last = part === fields.length - 1;
          // The last part's id and the 'submitted' state go in one write; the next part need not wait for it.
          this.track(this.spool.submitted(row.id, part, messageId, last, this.now()));
          this.events.submitted?.(row, part, this.now() - started);
          firstAt ??= started;
          break;
        }
        if (action === 'fail') {
          const why = `SMSC refused: ${reason}`;
          await this.spool.finish(row.id, 'failed', why, this.now());
          this.events.finished?.(row, 'failed', why);
          this.log.warn({ ...ids, reason: why, part }, 'message failed');
          return;
        }
        if (action === 'throttle') {
          this.limiter.throttled();
          this.events.throttled?.();
          this.log.info({ ...ids, status: reason }, 'SMSC throttling: slowing down');
        }
        if (part === 0) {
          // Nothing of this message reached the SMSC yet: back to the queue.
          await this.retry(row, reason, { countAttempt: action !== 'throttle' });
          return;
        }
        // Inside a composite: retry this part (same reference) while the window is open.
        this.log.info({ ...ids, status: reason, part }, 'part not accepted; retrying it within the composite window');
        await sleep(action === 'throttle' ? PART_RETRY_MS : Math.min(PART_RETRY_MS * 2, 5000));
      }
    }
    this.log.info({ ...ids, parts: fields.length, attempts: row.attempts }, 'submitted');
  }
}
