/**
 * The HTML thread's entry: it converts one HTML body at a time (mail/html-offload.ts sends them), so that a large
 * or hostile body never holds up the work thread, where the spool and the SMPP relay run.
 */
import { parentPort } from 'node:worker_threads';
import { isReplyError } from '../errors.js';
import type { Reply } from '../replies.js';
import { htmlToSmsText } from './html-text.js';

export type HtmlThreadReply = { text: string } | { refused: Reply } | { failed: string };

const port = parentPort!;
port.on('message', (html: string) => {
  let reply: HtmlThreadReply;
  try {
    reply = { text: htmlToSmsText(html) };
  } catch (e) {
    reply = isReplyError(e) ? { refused: e.reply } : { failed: (e as Error).message ?? String(e) };
  }
  port.postMessage(reply);
});
