/**
 * The common mail, read in one synchronous step: a single text/plain part, not flowed, in 7bit, 8bit,
 * quoted-printable or base64, in any charset mailparser would decode without the default-charset pre-pass.
 * mailparser reads it too, but through seven setImmediate hops; on a busy work thread each hop waits for a whole
 * event-loop turn (a commit, SMPP traffic), so its parse took ~0.8 ms at full load for ~50 µs of work, and that
 * wait was a third of the time a sender waited for its "250". Anything else returns undefined and goes to mailparser.
 *
 * Same answer as mailparser, by construction and by test (test/unit/mail-plain.test.ts runs both over a matrix
 * of shapes and over random messy mail): the same libraries (mailsplit's header reader and transfer decoders,
 * libmime) in mailparser's own order.
 */
import type { Transform } from 'node:stream';
import { Headers } from '@zone-eu/mailsplit';
import { Decoder as Base64Decoder } from 'libbase64';
import libmime from 'libmime';
import { Decoder as QpDecoder } from 'libqp';

export interface PlainMail {
  text: string;
  subject: string | undefined;
  messageId: string | undefined;
  /** X-SMS-Sender when given exactly once (mailparser keeps a repeated header as a list, which is no sender). */
  requestedSender: string | undefined;
}

/** Headers that decide the structure: one of each at most, or mailparser's rules for repeats would apply. */
const STRUCTURE = new Set(['content-type', 'content-transfer-encoding', 'content-disposition']);
const PASS_THROUGH = new Set(['', '7bit', '8bit', 'binary']);
const UTF8_CHARSETS = new Set(['ascii', 'usascii', 'utf8']);
/**
 * Larger mail goes to mailparser: a synchronous decode of megabytes would hold up the thread's SMPP traffic, while
 * mailparser yields between steps. An SMS is at most a few thousand characters; alert mails are a few KB.
 */
export const PLAIN_MAX_BYTES = 256 * 1024;
const HEAD_MAX_BYTES = 64 * 1024;
const HEAD_MAX_LINES = 1000;

/** Where the body starts: after the header block's empty line ("\n" or "\r\n"), as mailsplit finds it. */
function bodyStart(raw: Buffer): number | undefined {
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) {
    if (raw[i + 1] === 0x0a) return i + 2;
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return i + 3;
  }
  return undefined;
}

/** A header value as mailparser's processHeaders reads it: unfolded, trimmed, 8-bit bytes read as UTF-8. */
function headerValue(line: string): string {
  const value = (libmime.decodeHeader(line).value || '').toString().trim();
  return Buffer.from(value, 'binary').toString();
}

/** The body as mailsplit hands it on: line by line, each with its line end. */
function bodyLines(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let from = 0; from < body.length; ) {
    const nl = body.indexOf(0x0a, from);
    const to = nl === -1 ? body.length : nl + 1;
    out.push(body.subarray(from, to));
    from = to;
  }
  return out;
}

/**
 * A decoder mailparser would pipe the body through (transfer encoding, then charset), run synchronously: their
 * _transform and _flush call back at once. Fed the chunks the stream before it would give it, so a decoder that
 * keeps state across chunks (base64 quartets, a character split between lines) comes out the same.
 */
function runDecoder(decoder: Transform, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let failure: unknown;
  decoder.push = (chunk: unknown) => {
    if (chunk !== null && chunk !== undefined)
      out.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, 'binary'));
    return true;
  };
  const done = (err?: Error | null) => {
    failure ??= err ?? undefined;
  };
  // 'buffer' is what a stream passes with a Buffer chunk.
  for (const chunk of chunks) if (chunk.length > 0) decoder._transform(chunk, 'buffer' as BufferEncoding, done);
  decoder._flush?.(done);
  if (failure) throw failure;
  return out;
}

/** A structured header (Content-Type, Content-Disposition) as mailsplit parses it: value and params, no comments. */
function structured(line: string): { value: string; params: Record<string, string | undefined> } {
  return libmime.parseHeaderValue(libmime.decodeHeader(line).value, { stripComments: true }) as {
    value: string;
    params: Record<string, string | undefined>;
  };
}

function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function messageIdFormat(value: string): string | undefined {
  if (!value) return undefined;
  return `${value.startsWith('<') ? '' : '<'}${value}${value.endsWith('>') ? '' : '>'}`;
}

export function parsePlainMail(raw: Buffer): PlainMail | undefined {
  // An mbox "From " line, a header block without an end or starting empty: mailsplit's special cases.
  if (
    raw.length === 0 ||
    raw.length > PLAIN_MAX_BYTES ||
    raw[0] === 0x0d ||
    raw[0] === 0x0a ||
    raw.subarray(0, 5).toString('latin1') === 'From '
  )
    return undefined;
  const start = bodyStart(raw);
  // A header block near mailsplit's size accounting (1 MB, 64 bytes a line at least) is mailparser's to refuse.
  if (start === undefined || start > HEAD_MAX_BYTES) return undefined;
  const lines = new Headers(raw.subarray(0, start)).getList();
  if (lines.length > HEAD_MAX_LINES) return undefined;
  let subject: string | undefined;
  let messageId: string | undefined;
  const senders: string[] = [];
  const structure = new Map<string, string>();
  for (const { key, line } of lines) {
    if (STRUCTURE.has(key)) {
      if (structure.has(key)) return undefined;
      structure.set(key, line);
      continue;
    }
    if (key === 'subject') subject ??= decodeWords(headerValue(line)) || undefined;
    else if (key === 'message-id') messageId ??= messageIdFormat(decodeWords(headerValue(line)));
    else if (key === 'x-sms-sender') {
      const value = headerValue(line);
      if (value) senders.push(value);
    }
  }

  const disposition = structure.get('content-disposition');
  if (disposition !== undefined) {
    const parsed = structured(disposition);
    if ((parsed.value || '').toLowerCase().trim() !== 'inline' || Object.keys(parsed.params).length > 0)
      return undefined;
  }
  const contentType = structure.get('content-type');
  let charset = 'utf-8';
  if (contentType !== undefined) {
    const parsed = structured(contentType);
    if ((parsed.value || '').toLowerCase().trim() !== 'text/plain') return undefined;
    const { charset: declared, ...others } = parsed.params;
    // format=flowed, name=… and the like: mailparser's business.
    if (Object.keys(others).length > 0) return undefined;
    charset = declared || charset;
  }
  const cte = structure.get('content-transfer-encoding');
  const encoding = cte === undefined ? '' : libmime.decodeHeader(cte).value.toLowerCase();
  let chunks = bodyLines(raw.subarray(start));
  if (encoding === 'quoted-printable') chunks = runDecoder(new QpDecoder(), chunks);
  else if (encoding === 'base64') chunks = runDecoder(new Base64Decoder(), chunks);
  else if (!PASS_THROUGH.has(encoding)) return undefined;
  // mailparser reads UTF-8 and ASCII as they are and every other charset through libmime's decoder.
  if (!UTF8_CHARSETS.has(charset.toLowerCase().replace(/[^a-z0-9]+/g, '')))
    chunks = runDecoder(libmime.createDecodeStream(charset), chunks);
  const bytes = Buffer.concat(chunks);

  return {
    text: bytes.toString().replace(/\r?\n/g, '\n'),
    subject,
    messageId,
    requestedSender: senders.length === 1 ? senders[0] : undefined,
  };
}
