/**
 * The shared text pipeline: a Unicode text becomes the exact SUBMIT_SM parts, under the operator's limits. The
 * SMTP stage (to reply before accepting) and `smtp2sms encode` call this one function; the relay never re-encodes,
 * it sends the parts stored with the row at acceptance.
 */
import { ReplyError } from '../errors.js';
import { replies } from '../replies.js';
import { CODING_NAMES, encodeText, normaliseText, type EncodeOptions, type EncodedText } from './encode.js';
import { countSms, segment, SINGLE_LIMITS, type Concatenation, type SmsPart } from './segment.js';

export interface SmsOptions extends EncodeOptions {
  concatenation: Concatenation;
  maxParts: number;
  onTooLong: 'reject' | 'truncate';
}

export interface PreparedSms extends Omit<EncodedText, 'atoms'> {
  concatenation: Concatenation;
  /** One SUBMIT_SM each. */
  parts: SmsPart[];
  /** SMS the subscriber receives (payload mode: what the SMSC will split the text into). */
  smsCount: number;
  truncated: boolean;
}

/** Shown at the end of a cut text. GSM and Latin-1 have no `…`, and adding one would force UCS-2. */
const ELLIPSIS = { unicode: '\u2026', plain: '...' };
/** How far back (characters) a truncation looks for a word break. */
const WORD_BREAK_SEARCH = 20;

export function describeSms(sms: Pick<PreparedSms, 'coding' | 'smsCount'>): string {
  return `${sms.smsCount} part${sms.smsCount === 1 ? '' : 's'} (${CODING_NAMES[sms.coding]})`;
}

function truncateToFit(text: string, opts: SmsOptions): EncodedText {
  // No part holds more than 160 code points, so a longer prefix can never fit: bound the search.
  const chars = [...text].slice(0, opts.maxParts * SINGLE_LIMITS.gsm7 + 1);
  const attempt = (k: number): EncodedText => {
    const head = chars.slice(0, k).join('').trimEnd();
    const marker = encodeText(head, opts).coding === 'ucs2' ? ELLIPSIS.unicode : ELLIPSIS.plain;
    return encodeText(head + marker, opts);
  };
  const fits = (e: EncodedText) => countSms(e.atoms, e.coding, opts.concatenation) <= opts.maxParts;
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(attempt(mid))) lo = mid;
    else hi = mid - 1;
  }
  // Cut between words when a break is near: "disk fu..." reads worse than "disk..." and costs the same.
  if (lo < chars.length && /\S/u.test(chars[lo] as string)) {
    for (let k = lo; k > 0 && k >= lo - WORD_BREAK_SEARCH; k--) {
      if (/\s/u.test(chars[k - 1] as string) && chars.slice(0, k).join('').trim() !== '') return attempt(k);
    }
  }
  return attempt(lo);
}

/**
 * Encode and segment `text`. `ref` is the concatenation reference for this message (see createRefCounter).
 * Throws ReplyError 550 5.6.0 for an empty text and 550 5.3.4 for a text over `maxParts` under `reject`.
 */
export function prepareSms(text: string, opts: SmsOptions, ref = 0): PreparedSms {
  if (normaliseText(text).trim() === '') throw new ReplyError(replies.emptyText());
  let encoded = encodeText(text, opts);
  let smsCount = countSms(encoded.atoms, encoded.coding, opts.concatenation);
  let truncated = false;
  if (smsCount > opts.maxParts) {
    if (opts.onTooLong === 'reject') {
      throw new ReplyError(replies.tooLong(smsCount, CODING_NAMES[encoded.coding], opts.maxParts));
    }
    encoded = truncateToFit(encoded.text, opts);
    truncated = true;
  }
  const seg = segment(encoded.atoms, encoded.coding, opts.concatenation, ref);
  smsCount = seg.smsCount;
  const { atoms: _atoms, ...rest } = encoded;
  return { ...rest, concatenation: opts.concatenation, parts: seg.parts, smsCount, truncated };
}
