/**
 * HTML → SMS text in a thread of its own (mail/html-thread.ts), one body at a time, with a deadline. The work
 * thread parses mail beside the spool and the relay: converting there, a slow body stopped every submit and every
 * other mail's reply until it was done. The conversion is linear (html-depth.ts), so the deadline is a backstop
 * that should never be reached; a body that reaches it gets 550 5.6.0 and the thread is replaced.
 */
import { Worker } from 'node:worker_threads';
import { ReplyError } from '../errors.js';
import { replies } from '../replies.js';
import type { HtmlThreadReply } from './html-thread.js';

/** Longest one body may take to convert; a 2 MB body within the element cap takes well under a second. */
export const HTML_DEADLINE_MS = 10_000;

/** A DOM of the largest allowed body fits many times over; a body that needs more is refused, not the daemon. */
const HEAP_MB = 256;
/**
 * V8's default young generation (3 × 16 MB semi-spaces) would sit in RSS beside the work thread's; a conversion
 * makes short-lived garbage in bursts, which a small one collects as cheaply.
 */
const YOUNG_MB = 8;
/**
 * An idle thread is stopped after this long, so the heap the last bodies grew goes back to the system (hostile HTML
 * left ~50 MB behind otherwise); the next HTML mail starts a fresh thread, which costs tens of milliseconds.
 */
const IDLE_MS = 20_000;

let thread: Worker | undefined;
/** Bodies wait their turn here, so each one's deadline counts its own conversion only. */
let queue: Promise<unknown> = Promise.resolve();
let waiting = 0;
let idleTimer: NodeJS.Timeout | undefined;

function stopIdleThread(): void {
  const idle = thread;
  thread = undefined;
  void idle?.terminate();
}

function startThread(): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: YOUNG_MB };
  // Under vitest this module runs from src/ (TypeScript): the thread registers tsx before loading its entry.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./html-thread.ts', import.meta.url).href)}); })`,
        { eval: true, resourceLimits },
      )
    : new Worker(new URL('./html-thread.js', import.meta.url), { resourceLimits });
  // An idle thread must not keep a stopping daemon (or a test run) alive.
  worker.unref();
  return worker;
}

function convertOnce(html: string, deadlineMs: number): Promise<string> {
  thread ??= startThread();
  const worker = thread;
  return new Promise<string>((resolve, reject) => {
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      fn();
    };
    const drop = () => {
      if (thread === worker) thread = undefined;
      void worker.terminate();
    };
    const onMessage = (reply: HtmlThreadReply) =>
      settle(() => {
        if ('text' in reply) resolve(reply.text);
        else if ('refused' in reply) reject(new ReplyError(reply.refused));
        else reject(new Error(reply.failed));
      });
    const onError = (err: Error) =>
      settle(() => {
        drop();
        reject(new ReplyError(replies.htmlFailed(err.message)));
      });
    const onExit = (code: number) => onError(new Error(`the HTML thread exited with code ${code}`));
    const timer = setTimeout(
      () =>
        settle(() => {
          drop();
          reject(new ReplyError(replies.htmlTooSlow(deadlineMs / 1000)));
        }),
      deadlineMs,
    );
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage(html);
  });
}

/** The body's SMS text, converted off this thread; rejects with a ReplyError for a body it will not convert. */
export function htmlToSmsTextOffThread(html: string, deadlineMs = HTML_DEADLINE_MS): Promise<string> {
  clearTimeout(idleTimer);
  waiting++;
  const job = queue.then(() => convertOnce(html, deadlineMs));
  queue = job
    .catch(() => undefined)
    .finally(() => {
      if (--waiting === 0) idleTimer = setTimeout(stopIdleThread, IDLE_MS).unref();
    });
  return job;
}
