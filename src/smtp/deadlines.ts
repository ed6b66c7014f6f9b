/**
 * Slow clients (slowloris). smtp-server's socketTimeout measures idleness only, and every byte resets it: a client
 * trickling a byte a second holds its connection for ever, and max_clients of them lock every sender out. These
 * deadlines bound how long a command line (its first byte to its end) and the message data (the 354 to the final
 * ".") may take, whatever the pace; past them the client gets 421 4.4.2 and is closed.
 *
 * smtp-server has no hook for "a line started": the phase is read from its parser on a short sweep, so a deadline
 * fires at most one sweep late.
 */
import type { SMTPServer } from 'smtp-server';
import { replies, type Reply } from '../replies.js';

export type Phase = 'idle' | 'line' | 'data';

export interface Limits {
  commandMs: number;
  dataMs: number;
}

/** When the current phase began. */
export interface Clock {
  phase: Phase;
  since: number;
}

/** What the sweep reads of a connection (smtp-server's SMTPConnection and SMTPStream; typed by their .d.ts). */
interface ConnectionView {
  id: string;
  _closing: boolean;
  _upgrading: boolean;
  _handlerPending: boolean;
  _parser: { _dataMode: boolean; _remainder: string } | false;
  send(code: number, data?: string): void;
}

/**
 * The phase a connection is in. While a handler of ours runs (RCPT check, onData) the client waits for us: that
 * time is not the client's. The parser keeps the last partial line in _remainder until a later chunk has no
 * newline, so a line it is dispatching still shows there: hence the handler check first.
 */
export function phaseOf(c: Pick<ConnectionView, '_handlerPending' | '_upgrading' | '_parser'>): Phase {
  if (!c._parser || c._upgrading || c._handlerPending) return 'idle';
  if (c._parser._dataMode) return 'data';
  return c._parser._remainder.length > 0 ? 'line' : 'idle';
}

/** The clock after seeing `phase` at `now`: a phase that goes on keeps its start. */
export function tick(prev: Clock | undefined, phase: Phase, now: number): Clock {
  return prev?.phase === phase ? prev : { phase, since: now };
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

/** The reply for a client past its deadline, or undefined. */
export function overdue(clock: Clock, now: number, limits: Limits): Reply | undefined {
  const took = now - clock.since;
  if (clock.phase === 'line' && took > limits.commandMs) {
    return replies.commandTooSlow(seconds(limits.commandMs));
  }
  if (clock.phase === 'data' && took > limits.dataMs) {
    return replies.dataTooSlow(seconds(limits.dataMs));
  }
  return undefined;
}

/** How often to look: a tenth of the shorter limit, between 50 ms and 1 s. */
export function sweepMs(limits: Limits): number {
  return Math.min(1000, Math.max(50, Math.min(limits.commandMs, limits.dataMs) / 10));
}

/**
 * Enforce the limits on every connection of `server`; `onOverdue` is told before the 421 goes out (smtp-server
 * closes the connection after any 421). Returns the function that stops the sweep.
 */
export function enforceDeadlines(
  server: SMTPServer,
  limits: Limits,
  onOverdue: (sessionId: string, phase: Phase, reply: Reply) => void,
  now: () => number = Date.now,
): () => void {
  const clocks = new WeakMap<object, Clock>();
  const timer = setInterval(() => {
    const t = now();
    for (const conn of server.connections as Set<unknown> as Set<ConnectionView>) {
      if (conn._closing) continue;
      const clock = tick(clocks.get(conn), phaseOf(conn), t);
      clocks.set(conn, clock);
      const reply = overdue(clock, t, limits);
      if (!reply) continue;
      onOverdue(conn.id, clock.phase, reply);
      conn.send(reply.code, `${reply.enhanced} ${reply.text}`);
    }
  }, sweepMs(limits));
  timer.unref();
  return () => clearInterval(timer);
}
