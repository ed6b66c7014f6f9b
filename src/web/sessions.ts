/**
 * Signed-in sessions in memory, forgotten after their lifetime (@fastify/session's default store never forgets
 * one: it grows with every sign-in). A restart signs everyone out, which a page of read-only history can afford.
 */
import type { FastifySessionObject } from '@fastify/session';

type Callback = (err?: unknown) => void;
type SessionCallback = (err: unknown, session?: FastifySessionObject | null) => void;

export class ExpiringSessionStore {
  private readonly sessions = new Map<string, { session: FastifySessionObject; until: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(lifetimeMs, 60_000));
    this.sweeper.unref();
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (s.until <= t) this.sessions.delete(id);
  }

  set(id: string, session: FastifySessionObject, cb: Callback): void {
    this.sessions.set(id, { session, until: this.now() + this.lifetimeMs });
    cb();
  }

  get(id: string, cb: SessionCallback): void {
    const s = this.sessions.get(id);
    if (!s || s.until <= this.now()) {
      this.sessions.delete(id);
      cb(null, null);
      return;
    }
    cb(null, s.session);
  }

  destroy(id: string, cb: Callback): void {
    this.sessions.delete(id);
    cb();
  }

  /** Forget every session `ends` picks (a reload's removed users); how many went. */
  endWhere(ends: (session: FastifySessionObject) => boolean): number {
    let ended = 0;
    for (const [id, s] of this.sessions)
      if (ends(s.session)) {
        this.sessions.delete(id);
        ended++;
      }
    return ended;
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
