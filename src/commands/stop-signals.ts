/**
 * What a stop signal means once the daemon is stopping. Ctrl-C reaches every process of the terminal's
 * foreground group and `npm start` passes its own copy on (npm/cli#5021); a supervisor may signal the whole group
 * too. So the same signal again within a second is that echo, not an operator asking twice, which would end the
 * drain at once. Under npm the echo is certain but not always quick: npm is a Node.js process too, and on a
 * loaded machine its copy can come over a second late (the likely cause of a CI run where Ctrl-C under npm start
 * ended with exit 1). With npm as the parent, the first repeat is the echo whenever it comes, and only a further
 * one ends the drain.
 */
import { readFileSync } from 'node:fs';

/** 'stop': the first one, start stopping; 'echo': a copy of it, nothing to do; 'again': stop at once. */
export type StopVerdict = 'stop' | 'echo' | 'again';

const ECHO_WINDOW_MS = 1000;

export function stopSignals(underNpm: boolean): (signal: string, now: number) => StopVerdict {
  let first: { signal: string; at: number } | undefined;
  let echoTaken = false;
  return (signal, now) => {
    if (!first) {
      first = { signal, at: now };
      return 'stop';
    }
    if (signal === first.signal && (now - first.at < ECHO_WINDOW_MS || (underNpm && !echoTaken))) {
      echoTaken = true;
      return 'echo';
    }
    return 'again';
  };
}

/** Started by an npm script (`npm start`): npm names itself "npm <command>" and passes on every signal it gets. */
export function parentIsNpm(): boolean {
  try {
    return /^npm(\s|\0|$)/.test(readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8'));
  } catch {
    return false; // not Linux, or the parent is gone
  }
}
