/**
 * Smart encoding: typographic look-alikes that mail clients insert (Outlook's en dash, Word's curly quotes, an
 * HTML `&nbsp;`) replaced by their plain GSM equivalents, so one pasted `’` does not turn a 160-character GSM SMS
 * into three UCS-2 parts. Only characters whose replacement keeps the meaning are listed: letters with diacritics
 * are left alone (turning `ã` into `a` changes a word).
 */
export interface Replacement {
  from: string;
  to: string;
  count: number;
}

const GROUPS: ReadonlyArray<readonly [string, string]> = [
  // Single quotes, primes, apostrophe look-alikes.
  ['\u2018\u2019\u201A\u201B\u2032\u2035\u02BC\u02B9\u02BB\u02C8\u00B4\u0060\uFF07', "'"],
  // Double quotes and guillemets (GSM has none of « »).
  ['\u201C\u201D\u201E\u201F\u2033\u2036\u00AB\u00BB\u02BA\u3003\uFF02', '"'],
  ['\u2039', '<'],
  ['\u203A', '>'],
  // Hyphens and dashes, minus sign.
  ['\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\uFE58\uFE63\uFF0D', '-'],
  // Spaces: no-break, en/em and the other fixed widths, narrow no-break, ideographic.
  ['\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u202F\u205F\u3000', ' '],
  // Invisible characters that only steer layout: soft hyphen, zero-width space, word joiner, BOM.
  ['\u00AD\u200B\u2060\uFEFF', ''],
  ['\u2022\u2023\u25CF\u25E6\u2219\u00B7', '-'],
  ['\u2044\u2215', '/'],
  ['\u02C6\u02C4', '^'],
  ['\u02DC\u223C', '~'],
  ['\uFF0C', ','],
  ['\uFF1A', ':'],
  ['\uFF1B', ';'],
  ['\uFF01', '!'],
  ['\uFF1F', '?'],
  ['\u2028\u2029\u0085', '\n'],
  ['\u00D7', 'x'],
];

const PHRASES: ReadonlyArray<readonly [string, string]> = [
  ['\u2026', '...'],
  ['\u2122', 'TM'],
  ['\u00A9', '(c)'],
  ['\u00AE', '(R)'],
  ['\u2116', 'No.'],
  ['\u00BD', '1/2'],
  ['\u00BC', '1/4'],
  ['\u00BE', '3/4'],
  ['\u2190', '<-'],
  ['\u2192', '->'],
  ['\u21D2', '=>'],
  ['\u2264', '<='],
  ['\u2265', '>='],
  ['\u2260', '!='],
  ['\u00B1', '+/-'],
  ['\u2713', 'v'],
  ['\uFB01', 'fi'],
  ['\uFB02', 'fl'],
];

const MAP = new Map<string, string>();
for (const [chars, to] of GROUPS) for (const ch of chars) MAP.set(ch, to);
for (const [ch, to] of PHRASES) MAP.set(ch, to);

/** Replace look-alikes; returns the new text and what was replaced, counted per character. */
export function smartReplace(text: string): { text: string; replacements: Replacement[] } {
  const counts = new Map<string, number>();
  let out = '';
  for (const ch of text) {
    const to = MAP.get(ch);
    if (to === undefined) {
      out += ch;
      continue;
    }
    out += to;
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  const replacements = [...counts].map(([from, count]) => ({ from, to: MAP.get(from) as string, count }));
  return { text: out, replacements };
}
