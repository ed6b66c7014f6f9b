/**
 * RCPT TO address → phone number, or the reply that says why not. Only the configured domains are ours;
 * everything else, and every classic relay trick aimed at them, is relaying and refused.
 */
import { ReplyError } from '../errors.js';
import { replies } from '../replies.js';
import { parsePhone, type Phone } from '../sms/phone.js';

const relayDenied = (why: string) => new ReplyError(replies.relayDenied(why));

export function parseRecipient(address: string, domains: readonly string[], region: string): Phone {
  const at = address.lastIndexOf('@');
  if (at <= 0) throw new ReplyError(replies.badAddress(address));
  const local = address.slice(0, at);
  const domain = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (!domains.includes(domain)) throw relayDenied(`"${domain}" is not an SMS domain of this server`);
  // Source routes (@a:x@dom), %-hack (a%b@dom), bang paths (a!b@dom), quoted or nested addresses ("x@y"@dom).
  if (/[@%!:"\\]/.test(local) || local.startsWith('@'))
    throw relayDenied(`"${address}" is not a plain <phone>@${domain} address`);
  return parsePhone(local, region);
}
