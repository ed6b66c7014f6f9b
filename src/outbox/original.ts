/**
 * What the spool keeps of an accepted mail for its reports and reply threading: the header block (a report's
 * text/rfc822-headers), the whole mail only when RET=FULL asked for it, Reply-To (where a reply from the phone
 * goes) and Auto-Submitted (no report about an automatic mail). Pure; reads the raw bytes as received.
 */
import addressparser from 'nodemailer/lib/addressparser';
import type { MailFacts } from '../spool/types.js';

/** The header block, without the blank line (CRLF kept as received). */
export function headerBlock(raw: Buffer): string {
  const text = raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  return m ? text.slice(0, m.index + m[0].indexOf('\n') + 1) : text;
}

/** A header's first value, unfolded; undefined when absent. */
export function headerValue(block: string, name: string): string | undefined {
  const re = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r?\\n[ \\t].*)*)`, 'im');
  const m = re.exec(block);
  return m ? (m[1] as string).replace(/\r?\n[ \t]+/g, ' ').trim() : undefined;
}

export function mailFacts(
  raw: Buffer,
  dsn: { ret: 'FULL' | 'HDRS' | null; envid: string | null },
  subject: string | undefined,
): MailFacts {
  const headers = headerBlock(raw);
  const replyToHeader = headerValue(headers, 'reply-to');
  const parsed = replyToHeader ? addressparser(replyToHeader, { flatten: true }) : [];
  const replyTo = parsed.find((a) => a.address)?.address ?? null;
  return {
    ret: dsn.ret,
    envid: dsn.envid,
    subject: subject?.trim() || null,
    replyTo,
    autoSubmitted: headerValue(headers, 'auto-submitted') ?? null,
    headers,
    rawBase64: dsn.ret === 'FULL' ? raw.toString('base64') : null,
  };
}
