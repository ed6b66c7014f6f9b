/**
 * `smpp.comments: smsc`: SMS Center keeps the text after a "\n~~~\n" line in the sender's message history and
 * does not send it to the subscriber. The SMSC must see the whole text to strip the comment before it splits,
 * so the message goes in one message_payload (or short_message when it fits one SMS even with the comment).
 * The comment never changes what the subscriber receives or pays for: it is written in the text's own coding,
 * with characters that coding lacks transliterated or replaced — it is a note for the history, not the SMS.
 */
import { atomsIn, normaliseText, type Coding, type EncodeOptions } from './encode.js';
import { isGsmChar } from './gsm7.js';
import type { PreparedSms } from './prepare.js';
import { SINGLE_LIMITS } from './segment.js';
import { smartReplace } from './smart.js';
import { transliterate } from './translit.js';

export const COMMENT_SEPARATOR = '\n~~~\n';

function fitComment(comment: string, coding: Coding, systemType: string | undefined): string {
  if (coding === 'ucs2') return comment;
  const plain = transliterate(smartReplace(normaliseText(comment)).text);
  const ok = (ch: string) => atomsIn(ch, coding, systemType) !== undefined && (coding !== 'gsm7' || isGsmChar(ch));
  return [...plain].map((ch) => (ok(ch) ? ch : '?')).join('');
}

export function withSmscComment(
  sms: PreparedSms,
  comment: string,
  opts: Pick<EncodeOptions, 'systemType'>,
): PreparedSms {
  if (comment.trim() === '') return sms;
  const full = `${sms.text}${COMMENT_SEPARATOR}${fitComment(comment, sms.coding, opts.systemType)}`;
  const atoms = atomsIn(full, sms.coding, opts.systemType);
  if (!atoms) throw new Error('comment could not be fitted to the coding'); // fitComment guarantees it can
  const units = atoms.reduce((n, a) => n + a.units, 0);
  const body = Buffer.from(atoms.flatMap((a) => [...a.bytes]));
  const single = sms.smsCount === 1 && units <= SINGLE_LIMITS[sms.coding];
  return { ...sms, parts: [{ udh: Buffer.alloc(0), body, units, payload: !single }] };
}
