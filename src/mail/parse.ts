/**
 * Raw RFC 5322 bytes → the parts of a mail an SMS is made of. A mail that is one text/plain part (any charset
 * iconv knows, not format=flowed) is read in one step (plain.ts); mailparser does the MIME work for everything
 * else; a pre-pass over the MIME tree (mailsplit, mailparser's own splitter) applies `smtp.default_charset` to text
 * parts that declare no charset and to raw 8-bit headers, which mailparser would otherwise read as UTF-8 and garble.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Joiner, Splitter } from '@zone-eu/mailsplit';
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import { isReplyError, ReplyError } from '../errors.js';
import { replies } from '../replies.js';
import { cleanBody, cleanSubject, composeText, type SubjectMode } from './clean.js';
import { htmlToSmsTextOffThread } from './html-offload.js';
import { parsePlainMail } from './plain.js';

export interface MailOptions {
  defaultCharset: string;
  commentPrefix: string;
  subject: SubjectMode;
  /** HTML longer than this is not converted (a hostile 50 MB table would stall the event loop). */
  maxHtmlLength: number;
}

export interface AttachmentInfo {
  filename: string | undefined;
  contentType: string;
  size: number;
}

export interface MailContent {
  /** The SMS text: subject and cleaned body per the subject mode. */
  text: string;
  /** Comment section (never sent to the subscriber). */
  comment: string;
  subject: string;
  messageId: string | undefined;
  /** X-SMS-Sender header: the sender the mail asks for. */
  requestedSender: string | undefined;
  attachments: AttachmentInfo[];
  /** The body came from HTML (no text/plain part). */
  fromHtml: boolean;
}

const MAX_PARSE_DEPTH = 50;

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** An RFC 2047 encoded word for any text: what a correct legacy sender would have written. */
function encodedWord(text: string): string {
  return `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

interface PrePassReport {
  unknownCharsets: Set<string>;
  depth: number;
}

/** The mailsplit node type, narrowed to what the pre-pass uses. */
interface SplitNode {
  type: 'node';
  root: boolean;
  multipart: string | false;
  contentType: string | false;
  charset: string | false;
  disposition: string | false;
  parentNode: SplitNode | false;
  headers:
    | {
        lines: false | Array<{ key: string; line: string }>;
        getFirst(key: string): string;
        update(key: string, value: string): void;
        remove(key: string): void;
      }
    | false;
  setContentType(type: string): void;
  setCharset(charset: string): void;
}

function depthOf(node: SplitNode): number {
  let d = 0;
  for (let n: SplitNode | false = node; n; n = n.parentNode) d++;
  return d;
}

/** Fix charsets in the MIME tree as it streams past; note what cannot be fixed. */
function charsetPrePass(defaultCharset: string, report: PrePassReport): Transform {
  const declareDefault = !IS_UTF8_OR_ASCII.test(defaultCharset);
  return new Transform({
    objectMode: true,
    transform(chunk: { type: string }, _enc: BufferEncoding, done: TransformCallback) {
      if (chunk.type === 'node') {
        const node = chunk as unknown as SplitNode;
        report.depth = Math.max(report.depth, depthOf(node));
        const type = node.contentType || (node.root ? 'text/plain' : '');
        const isText = !node.multipart && /^text\//i.test(type) && node.disposition !== 'attachment';
        if (isText && !node.charset && declareDefault) {
          if (!node.contentType) node.setContentType('text/plain');
          node.setCharset(defaultCharset);
        }
        if (isText && node.charset && !iconv.encodingExists(node.charset)) report.unknownCharsets.add(node.charset);
        if (node.root && node.headers) fixRawHeaders(node, defaultCharset);
      }
      done(null, chunk);
    },
  });
}

/** Raw 8-bit Subject/From (no RFC 2047) that is not UTF-8 is in the default charset (KOI8-R senders). */
function fixRawHeaders(node: SplitNode, defaultCharset: string): void {
  const headers = node.headers;
  if (!headers) return;
  for (const key of ['subject', 'x-sms-sender']) {
    const value = headers.getFirst(key);
    if (!value || !/[\x80-\xff]/.test(value)) continue;
    const bytes = Buffer.from(value, 'binary');
    if (isUtf8(bytes)) continue;
    const charset =
      iconv.encodingExists(defaultCharset) && !/^utf-?8$/i.test(defaultCharset) ? defaultCharset : 'windows-1252';
    headers.update(key, encodedWord(iconv.decode(bytes, charset)));
  }
}

async function normaliseCharsets(
  raw: Buffer,
  defaultCharset: string,
): Promise<{ bytes: Buffer; report: PrePassReport }> {
  const report: PrePassReport = { unknownCharsets: new Set(), depth: 0 };
  const chunks: Buffer[] = [];
  const sink = new Transform({
    transform(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  await pipeline(
    Readable.from([raw]),
    new Splitter({ maxHeadSize: 1024 * 1024 }),
    charsetPrePass(defaultCharset, report),
    new Joiner(),
    sink,
  );
  return { bytes: Buffer.concat(chunks), report };
}

const REPLACEMENT = '\uFFFD';

function malformed(e: unknown): ReplyError {
  const msg = (e as Error).message ?? String(e);
  const why = /child nodes/i.test(msg) ? 'too many MIME parts' : msg;
  return new ReplyError(replies.malformed(why));
}

const IS_UTF8_OR_ASCII = /^(utf-?8|us-?ascii|ascii)$/i;

/**
 * Whether the pre-pass could change or refuse anything: a default charset other than UTF-8, 8-bit bytes in the
 * top headers, a declared charset iconv does not know, or more multiparts than allowed. Most mail has none of
 * these, and the pre-pass costs twice the parse.
 */
function needsPrePass(raw: Buffer, defaultCharset: string): boolean {
  if (!IS_UTF8_OR_ASCII.test(defaultCharset)) return true;
  const headerEnd = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(
    0,
    headerEnd === -1 ? (raw.indexOf('\n\n') === -1 ? raw.length : raw.indexOf('\n\n')) : headerEnd,
  );
  if (head.some((b) => b >= 0x80)) return true;
  const text = raw.toString('latin1');
  for (const m of text.matchAll(/charset\s*=\s*"?([^";\s]+)/gi)) {
    if (!iconv.encodingExists(m[1] as string)) return true;
  }
  let multiparts = 0;
  for (const _ of text.matchAll(/content-type:\s*multipart\//gi)) if (++multiparts > MAX_PARSE_DEPTH) return true;
  return false;
}

/** What reading the MIME structure yields, before the SMS-specific cleaning. */
export interface MailParts {
  text: string;
  html: string;
  subject: string | undefined;
  messageId: string | undefined;
  requestedSender: string | undefined;
  attachments: AttachmentInfo[];
}

/** The plain fast path (mail/plain.ts) when the mail is one it reads; undefined sends it to mailparser. */
export function readPlain(
  raw: Buffer,
  defaultCharset: string,
  prePass = needsPrePass(raw, defaultCharset),
): MailParts | undefined {
  if (prePass) return undefined;
  let plain: ReturnType<typeof parsePlainMail>;
  try {
    plain = parsePlainMail(raw);
  } catch {
    return undefined;
  }
  return plain && { ...plain, html: '', attachments: [] };
}

/** Any mail, through the charset pre-pass when needed and mailparser. */
export async function readWithMailparser(
  raw: Buffer,
  opts: MailOptions,
  prePass = needsPrePass(raw, opts.defaultCharset),
): Promise<MailParts> {
  let prepared: Awaited<ReturnType<typeof normaliseCharsets>>;
  try {
    prepared = prePass
      ? await normaliseCharsets(raw, opts.defaultCharset)
      : { bytes: raw, report: { unknownCharsets: new Set(), depth: 0 } };
  } catch (e) {
    throw malformed(e);
  }
  const { bytes, report } = prepared;
  if (report.depth > MAX_PARSE_DEPTH) {
    throw new ReplyError(replies.nestedTooDeep(report.depth, MAX_PARSE_DEPTH));
  }
  if (report.unknownCharsets.size > 0) {
    throw new ReplyError(replies.unknownCharset([...report.unknownCharsets]));
  }
  let parsed: Awaited<ReturnType<typeof simpleParser>>;
  try {
    parsed = await simpleParser(bytes, {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      maxHtmlLengthToParse: opts.maxHtmlLength,
    });
  } catch (e) {
    throw malformed(e);
  }
  const sender = parsed.headers.get('x-sms-sender');
  return {
    text: typeof parsed.text === 'string' ? parsed.text : '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    subject: parsed.subject,
    messageId: parsed.messageId,
    requestedSender: typeof sender === 'string' ? sender : undefined,
    attachments: parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size })),
  };
}

export async function parseMail(raw: Buffer, opts: MailOptions): Promise<MailContent> {
  // One scan decides both: a mail the pre-pass must see is not plain either.
  const prePass = needsPrePass(raw, opts.defaultCharset);
  const parts = readPlain(raw, opts.defaultCharset, prePass) ?? (await readWithMailparser(raw, opts, prePass));
  const { text: plain, html } = parts;
  const fromHtml = plain.trim() === '' && html !== '';
  if (fromHtml && html.length > opts.maxHtmlLength) {
    throw new ReplyError(replies.htmlTooLarge(html.length));
  }
  let bodyText = plain;
  if (fromHtml) {
    try {
      bodyText = await htmlToSmsTextOffThread(html);
    } catch (e) {
      if (isReplyError(e)) throw e;
      throw new ReplyError(replies.htmlFailed((e as Error).message));
    }
  }
  const subject = cleanSubject(parts.subject ?? '');
  if (bodyText.includes(REPLACEMENT) || subject.includes(REPLACEMENT)) {
    throw new ReplyError(replies.badBytes());
  }
  const { text: body, comment } = cleanBody(bodyText, { commentPrefix: opts.commentPrefix });
  const sender = parts.requestedSender?.trim();
  return {
    text: composeText(subject, body, opts.subject),
    comment,
    subject,
    messageId: parts.messageId,
    requestedSender: sender ? sender : undefined,
    attachments: parts.attachments,
    fromHtml,
  };
}
