/**
 * Calls between threads over a port (a Worker, parentPort or a MessagePort): calls made in one tick travel in
 * one message, and so do the answers, so a busy thread pays one postMessage per tick rather than one per call.
 * "One tick" is process.nextTick, which runs once the current callback and its promise jobs are done: answers made
 * by one group commit leave together, right after it. (With setImmediate they waited for the next loop turn, behind
 * that turn's SMPP traffic and parsing.)
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { SpoolError } from '../spool/types.js';

type Port = Pick<MessagePort | Worker, 'postMessage' | 'on'>;
interface Call {
  id: number;
  op: string;
  args: unknown[];
}
interface Answer {
  id: number;
  value?: unknown;
  error?: { name: string; message: string };
}

/** The calling side. A closed client (or one whose thread died) fails every call with a SpoolError (→ 451). */
export class RpcClient {
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private next = 1;
  private outbox: Call[] = [];
  closed = false;

  constructor(private readonly port: Port) {
    port.on('message', (msg: unknown) => {
      if (!Array.isArray(msg)) return;
      for (const a of msg as Answer[]) {
        const p = this.pending.get(a.id);
        if (!p) continue;
        this.pending.delete(a.id);
        if (!a.error) p.resolve(a.value);
        else
          p.reject(
            a.error.name === 'SpoolError' ? new SpoolError(new Error(a.error.message)) : new Error(a.error.message),
          );
      }
    });
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new SpoolError(new Error('the work thread is gone')));
    return new Promise<T>((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.outbox.length === 0) process.nextTick(() => this.post());
      this.outbox.push({ id, op, args });
    });
  }

  private post(): void {
    const calls = this.outbox;
    this.outbox = [];
    if (calls.length > 0 && !this.closed) this.port.postMessage(calls);
  }

  /** No more calls; those waiting fail with `err`. */
  fail(err: Error): void {
    this.closed = true;
    for (const c of this.outbox.splice(0)) this.pending.get(c.id)?.reject(new SpoolError(err));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new SpoolError(err));
    }
  }
}

export type Ops = Record<string, (...args: never[]) => unknown>;

/** The answering side: runs each call's op and answers, batched per tick. `onError` sees every failure. */
export function serveRpc(port: Port, ops: Ops, onError: (err: Error) => void = () => undefined): void {
  let answers: Answer[] = [];
  const answer = (a: Answer) => {
    if (answers.length === 0) {
      process.nextTick(() => {
        const out = answers;
        answers = [];
        port.postMessage(out);
      });
    }
    answers.push(a);
  };
  port.on('message', (msg: unknown) => {
    if (!Array.isArray(msg)) return;
    for (const call of msg as Call[]) {
      Promise.resolve()
        .then(() => {
          const op = ops[call.op];
          if (!op) throw new Error(`unknown operation ${call.op}`);
          return (op as (...a: unknown[]) => unknown)(...call.args);
        })
        .then(
          (value) => answer({ id: call.id, value }),
          (err: unknown) => {
            const e = err as Error & { cause?: unknown };
            onError(e);
            answer({ id: call.id, error: { name: e.name, message: (e.cause as Error)?.message ?? e.message } });
          },
        );
    }
  });
}
