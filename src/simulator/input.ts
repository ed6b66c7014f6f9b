/**
 * Replies from a simulated phone, typed by a person: `reply <phone> <to> <text>` on standard input, for
 * `simulate-smsc` and the demo's embedded simulator, so replies by mail can be tried without a real phone.
 */
import { createInterface } from 'node:readline';
import type { SmscSimulator } from './smsc.js';

export type ReplyCommand = { from: string; to: string; text: string } | { error: string } | undefined;

const USAGE = 'usage: reply <phone> <to> <text>   e.g. reply +79991234567 Alerts On my way';

/** One typed line → a reply to send, a usage error, or nothing (a blank line). */
export function parseReplyCommand(line: string): ReplyCommand {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  const m = /^reply\s+(\+?\d{3,20})\s+(\S+)\s+(\S.*)$/i.exec(trimmed);
  if (!m) return { error: USAGE };
  return { from: m[1]!, to: m[2]!, text: m[3]! };
}

/** Read reply commands from standard input until it ends; each outcome is printed. */
export function replyFromStdin(sim: SmscSimulator, print: (line: string) => void): void {
  const input = createInterface({ input: process.stdin, terminal: false });
  input.on('line', (line) => {
    const cmd = parseReplyCommand(line);
    if (!cmd) return;
    if ('error' in cmd) return print(cmd.error);
    void sim.reply(cmd.from, cmd.to, cmd.text).then((acked) => {
      if (acked === 0) print('reply not delivered: no bind to deliver it to');
    });
  });
  // Standard input that ends (none, /dev/null, a closed pipe) just stops this; the simulator runs on.
  input.on('error', () => undefined);
}
