/**
 * Two changes to how smtp-server sends a reply, installed once at import (smtp-server is pinned to ~3.21):
 * - It picks the enhanced status code from the basic code alone (every 550 becomes 5.1.1), but a client needs to
 *   tell "no such number" (5.1.1) from "relaying denied" (5.7.1) or "no text" (5.6.0). A reply whose text starts
 *   with an RFC 3463 code ("5.7.1 Relaying denied") is sent with that code; others keep the library's mapping.
 * - It sends "Too many connected clients" as a bare 421, without the 4.4.2 every other 421 carries (RFC 3463: the
 *   service is closing the channel), which the README promises and clients reading enhanced codes expect.
 * - It writes every reply on its own; replies made in the same tick (a pipelined MAIL/RCPT/DATA) now leave in
 *   one write (io/cork.ts).
 */
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { corkSocket } from '../io/cork.js';
import type { Reply } from '../replies.js';

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3}) /;

type Send = (code: number, data?: unknown, context?: unknown) => void;
const proto = SMTPConnection.prototype as unknown as { send: Send & { enhancedShim?: true } };
if (!proto.send.enhancedShim) {
  const original = proto.send;
  const send: Send & { enhancedShim?: true } = function (
    this: { _socket?: { cork(): void; uncork(): void } },
    code,
    data,
    context,
  ) {
    corkSocket(this._socket, 'tick');
    const text = typeof data === 'string' ? data : undefined;
    const m = text ? ENHANCED.exec(text) : null;
    // Only when the class matches the reply (a 5.x.x text on a 4xx reply would be a lie): keep the library's.
    if (m && text && String(code)[0] === m[1]) return original.call(this, code, text, false);
    if (code === 421 && context === false) return original.call(this, code, data);
    return original.call(this, code, data, context);
  };
  send.enhancedShim = true;
  proto.send = send;
}

/** A reply's text with its enhanced code in front, as the send above passes it on. */
export function replyLine(r: Reply): string {
  return `${r.enhanced} ${r.text}`;
}

/** A refusal as an Error smtp-server understands (responseCode), its enhanced code in the text. */
export function smtpError(r: Reply): Error & { responseCode: number } {
  return Object.assign(new Error(replyLine(r)), { responseCode: r.code });
}
