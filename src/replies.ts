/**
 * Every SMTP reply smtp2sms gives, by name, in one place: its code, its RFC 3463 enhanced code, its text, and
 * when and why a client gets it. A stage that refuses something names the reply here (`replies.badNumber(…)`),
 * so a code is decided once and the README's table ("Every SMTP reply and why") is generated from this list
 * (`smtp2sms replies-reference`; a test fails when the README is stale). Replies that smtp-server writes itself
 * are listed too, so the table is the whole story a client can see; their texts are the library's.
 */

/** One SMTP reply: what the client reads. */
export interface Reply {
  readonly code: number;
  readonly enhanced: string;
  readonly text: string;
}

/** The point of the conversation a reply answers; the README's table is in this order. */
export const PHASES = ['connect', 'any time', 'any command', 'AUTH', 'MAIL FROM', 'RCPT TO', 'DATA'] as const;
export type Phase = (typeof PHASES)[number];

export interface ReplyDoc {
  readonly when: readonly Phase[];
  readonly code: number;
  /** Empty only for replies without one (the greeting). */
  readonly enhanced: string;
  /** The text as the README shows it, with `<…>`, `N` or `…` where it varies. */
  readonly shown: string;
  readonly why: string;
  /** smtp-server writes this one itself; smtp2sms only chose the setting behind it. */
  readonly bySmtpServer?: true;
}

/** A reply smtp2sms writes: its documentation, and called with what varies, the reply. */
export type ReplyDef<A extends unknown[]> = ReplyDoc & ((...args: A) => Reply);

function ours<A extends unknown[]>(doc: Omit<ReplyDoc, 'bySmtpServer'>, text: (...args: A) => string): ReplyDef<A> {
  const make = (...args: A): Reply => ({ code: doc.code, enhanced: doc.enhanced, text: text(...args) });
  return Object.assign(make, doc);
}

const s = (n: number) => (n === 1 ? '' : 's');

/** Several recipients' refusals in one reply: each one's text, in order. */
const eachRefusal = (refusals: readonly Reply[]) => refusals.map((r) => r.text).join('; ');

/** The replies smtp2sms writes. */
export const replies = {
  accessDenied: ours(
    {
      when: ['connect'],
      code: 554,
      enhanced: '5.7.1',
      shown: 'Access denied for <ip>',
      why: 'client not in `smtp.allow_networks`',
    },
    (ip: string) => `Access denied for ${ip}`,
  ),
  commandTooSlow: ours(
    {
      when: ['any command'],
      code: 421,
      enhanced: '4.4.2',
      shown: 'Command line not completed within N s; closing',
      why: 'a command line took longer than `smtp.command_timeout_s` from its first byte (a client trickling bytes: slowloris)',
    },
    (seconds: string) => `Command line not completed within ${seconds}; closing`,
  ),
  dataTooSlow: ours(
    {
      when: ['DATA'],
      code: 421,
      enhanced: '4.4.2',
      shown: 'Message not completed within N s; closing',
      why: 'the message took longer than `smtp.data_timeout_s` from the 354 to the final `.` (600 s is 3.5 kB/s for a 2 MB mail)',
    },
    (seconds: string) => `Message not completed within ${seconds}; closing`,
  ),
  authFailed: ours(
    {
      when: ['AUTH'],
      code: 535,
      enhanced: '5.7.8',
      shown: 'Authentication failed',
      why: 'wrong user or password (answered slower with each failure from the same IP)',
    },
    () => 'Authentication failed',
  ),
  encryptionRequired: ours(
    {
      when: ['AUTH'],
      code: 538,
      enhanced: '5.7.11',
      shown: 'Encryption required: use STARTTLS before AUTH',
      why: 'cleartext AUTH from a non-loopback client without `smtp.auth.allow_cleartext`',
    },
    () => 'Encryption required: use STARTTLS before AUTH',
  ),
  authUnavailable: ours(
    {
      when: ['AUTH'],
      code: 454,
      enhanced: '4.7.0',
      shown: 'Temporary authentication failure',
      why: 'the password check itself failed',
    },
    () => 'Temporary authentication failure',
  ),
  accountChanged: ours(
    {
      when: ['MAIL FROM'],
      code: 530,
      enhanced: '5.7.0',
      shown: 'Authentication required: this account was removed or changed since AUTH; …',
      why: "a SIGHUP reload removed the session's user or changed its password after it authenticated: reconnect and AUTH again",
    },
    () => 'Authentication required: this account was removed or changed since AUTH; reconnect and AUTH again',
  ),
  clockSkewed: ours(
    {
      when: ['MAIL FROM'],
      code: 451,
      enhanced: '4.3.0',
      shown: "Temporary local problem: this node's clock is N s ahead of (behind) the database's …; try again later",
      why: "several nodes: this node's clock is further off the database's than `cluster.max_clock_skew_s`, or its schema is older than the database's (see \"Several nodes\")",
    },
    (problem: string) => `Temporary local problem: ${problem}; try again later`,
  ),
  queueFull: ours(
    {
      when: ['MAIL FROM'],
      code: 452,
      enhanced: '4.3.1',
      shown: 'Queue full (N messages waiting for the SMSC); try again later',
      why: 'back-pressure: more than `spool.max_queued` waiting',
    },
    (maxQueued: number) => `Queue full (${maxQueued} messages waiting for the SMSC); try again later`,
  ),
  badNumber: ours(
    {
      when: ['RCPT TO'],
      code: 550,
      enhanced: '5.1.1',
      shown: 'Bad recipient number "…": <reason>',
      why: 'not a valid phone number (too short, letters, unknown country code…)',
    },
    (input: string, reason: string) => `Bad recipient number "${input}": ${reason}`,
  ),
  badAddress: ours(
    {
      when: ['RCPT TO'],
      code: 550,
      enhanced: '5.1.3',
      shown: 'Bad recipient address "…": expected <phone>@<domain>',
      why: 'an address without a local part (`@sms.example.com`)',
    },
    (address: string) => `Bad recipient address "${address}": expected <phone>@<domain>`,
  ),
  relayDenied: ours(
    {
      when: ['RCPT TO'],
      code: 550,
      enhanced: '5.7.1',
      shown: 'Relaying denied: …',
      why: 'a domain not in `smtp.domains`, or `%`, `!` or quotes in the local part (`"7999"@…`); a source route (`@a:7999@…`) is ignored, as RFC 5321 asks',
    },
    (why: string) => `Relaying denied: ${why}`,
  ),
  flood: ours(
    {
      when: ['RCPT TO', 'DATA'],
      code: 450,
      enhanced: '4.7.1',
      shown:
        'Too many messages to +…: N accepted less than N s apart (provider limit); try again after N s without messages',
      why: 'flood rule (checked at RCPT TO, and again when the mail is stored): try again later',
    },
    (phoneDigits: string, max: number, gapS: number) =>
      `Too many messages to +${phoneDigits}: ${max} accepted less than ${gapS} s apart (provider limit); ` +
      `try again after ${gapS} s without messages`,
  ),
  queued: ours(
    {
      when: ['DATA'],
      code: 250,
      enhanced: '2.0.0',
      shown: 'Queued as <id>: N recipients × P parts (GSM)',
      why: 'stored durably; will be sent (`; text cut to fit sms.max_parts` when truncated)',
    },
    (queueId: string, recipients: number, parts: string, truncated: boolean) =>
      `Queued as ${queueId}: ${recipients} recipient${s(recipients)} × ${parts}${truncated ? '; text cut to fit sms.max_parts' : ''}`,
  ),
  queuedWithNotes: ours(
    {
      when: ['DATA'],
      code: 250,
      enhanced: '2.0.0',
      shown: 'Queued as <id>: N recipients × P parts (GSM); +… refused (…)` or `Nothing new queued; …',
      why: 'several recipients, some of them refused, dropped or already queued: what was queued, then each of the others and why',
    },
    (queued: Reply | null, notes: readonly string[]) => [queued?.text ?? 'Nothing new queued', ...notes].join('; '),
  ),
  retransmission: ours(
    {
      when: ['DATA'],
      code: 250,
      enhanced: '2.0.0',
      shown: 'Queued as <id>: … (already accepted; not sent again)',
      why: 'a retransmission (same Message-ID)',
    },
    (queueId: string, parts: string) =>
      `Queued as ${queueId}: 1 recipient × ${parts} (already accepted; not sent again)`,
  ),
  duplicateDropped: ours(
    {
      when: ['DATA'],
      code: 250,
      enhanced: '2.0.0',
      shown: 'Dropped, nothing sent: Duplicate: …',
      why: 'duplicate with `policy.duplicate_action: drop`',
    },
    (phoneDigits: string, ageS: number, windowS: number) =>
      `Dropped, nothing sent: ${duplicateText(phoneDigits, ageS, windowS)}`,
  ),
  duplicate: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.7.1',
      shown: 'Duplicate: an identical SMS to +… was accepted N s ago; identical messages are refused for N s',
      why: 'duplicate rule',
    },
    (phoneDigits: string, ageS: number, windowS: number) => duplicateText(phoneDigits, ageS, windowS),
  ),
  allRefused: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.7.1',
      shown: '<each refusal>; <each refusal>',
      why: 'several recipients, every one refused by a rule for good',
    },
    eachRefusal,
  ),
  allRefusedForNow: ours(
    {
      when: ['DATA'],
      code: 450,
      enhanced: '4.7.1',
      shown: '<each refusal>; <each refusal>',
      why: 'several recipients, every one refused, at least one of them only for now (flood rule)',
    },
    eachRefusal,
  ),
  senderNeedsAuth: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.7.1',
      shown: 'Sender "…" (X-SMS-Sender) needs an authenticated user allowed to use it',
      why: 'an X-SMS-Sender header from a client that did not AUTH',
    },
    (sender: string) => `Sender "${sender}" (X-SMS-Sender) needs an authenticated user allowed to use it`,
  ),
  senderNotAllowed: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.7.1',
      shown: 'Sender "…" (X-SMS-Sender) is not allowed for user "…"',
      why: "the sender is not in the user's `allowed_senders`",
    },
    (sender: string, user: string) => `Sender "${sender}" (X-SMS-Sender) is not allowed for user "${user}"`,
  ),
  emptyText: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'No text to send: the message is empty',
      why: 'nothing left after cleaning',
    },
    () => 'No text to send: the message is empty',
  ),
  malformed: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'Malformed message: …',
      why: 'the MIME structure cannot be read (too many parts, broken headers)',
    },
    (why: string) => `Malformed message: ${why}`,
  ),
  nestedTooDeep: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'Malformed message: MIME parts nested N deep (at most M)',
      why: 'multiparts inside multiparts deeper than a mail client makes',
    },
    (depth: number, max: number) => `Malformed message: MIME parts nested ${depth} deep (at most ${max})`,
  ),
  unknownCharset: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'Unknown charset "…": the text cannot be decoded',
      why: 'a charset iconv-lite does not know',
    },
    (charsets: readonly string[]) =>
      `Unknown charset ${charsets.map((c) => `"${c}"`).join(', ')}: the text cannot be decoded`,
  ),
  badBytes: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'The text is not valid in its charset (undecodable bytes): …',
      why: 'bytes that are not text in the declared charset (or in `smtp.default_charset` when none is declared)',
    },
    () =>
      'The text is not valid in its charset (undecodable bytes): declare the right charset, or set ' +
      'smtp.default_charset for senders that declare none',
  ),
  htmlTooLarge: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'HTML body too large to convert (N characters); send text/plain',
      why: 'an HTML-only body over `smtp.max_html_chars`',
    },
    (chars: number) => `HTML body too large to convert (${chars} characters); send text/plain`,
  ),
  htmlTooManyElements: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'HTML body has too many elements (N, at most M); send text/plain',
      why: 'an HTML-only body with more elements than any alert has',
    },
    (elements: number, max: number) => `HTML body has too many elements (${elements}, at most ${max}); send text/plain`,
  ),
  htmlTooSlow: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'HTML body took longer than N s to convert to text; send text/plain',
      why: 'an HTML-only body whose conversion ran past its deadline (the converter is stopped)',
    },
    (seconds: number) => `HTML body took longer than ${seconds} s to convert to text; send text/plain`,
  ),
  htmlFailed: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.6.0',
      shown: 'HTML body could not be converted to text (…); send text/plain',
      why: 'the HTML converter failed on the body',
    },
    (why: string) => `HTML body could not be converted to text (${why}); send text/plain`,
  ),
  tooLong: ours(
    {
      when: ['DATA'],
      code: 550,
      enhanced: '5.3.4',
      shown: 'Text too long: it needs N SMS parts (…), at most M are allowed',
      why: 'over `sms.max_parts` with `sms.on_too_long: reject`',
    },
    (parts: number, coding: string, max: number) =>
      `Text too long: it needs ${parts} SMS parts (${coding}), at most ${max} are allowed`,
  ),
  notStored: ours(
    {
      when: ['RCPT TO', 'DATA'],
      code: 451,
      enhanced: '4.3.0',
      shown: 'Temporary local problem storing the message; try again later',
      why: "the spool cannot be written or read (disk full, read-only, locked, database down): never a 250; at RCPT TO, the flood rule's facts could not be read",
    },
    () => 'Temporary local problem storing the message; try again later',
  ),
  localError: ours(
    {
      when: ['RCPT TO', 'DATA'],
      code: 451,
      enhanced: '4.3.0',
      shown: 'Temporary local error; try again later',
      why: 'an unexpected failure of smtp2sms itself (logged with its stack): the client keeps the mail and retries',
    },
    () => 'Temporary local error; try again later',
  ),
} as const;

function duplicateText(phoneDigits: string, ageS: number, windowS: number): string {
  return `Duplicate: an identical SMS to +${phoneDigits} was accepted ${ageS} s ago; identical messages are refused for ${windowS} s`;
}

const library = (doc: Omit<ReplyDoc, 'bySmtpServer'>): ReplyDoc => ({ ...doc, bySmtpServer: true });

/** Replies smtp-server writes itself (its texts), named here so the table is complete and text can cite them. */
export const smtpServerReplies = {
  greeting: library({ when: ['connect'], code: 220, enhanced: '', shown: '<name> ESMTP smtp2sms…', why: 'greeting' }),
  tooManyClients: library({
    when: ['connect'],
    code: 421,
    enhanced: '4.4.2',
    shown: '<name> Too many connected clients, try again in a moment',
    why: '`smtp.max_clients` reached',
  }),
  shuttingDown: library({
    when: ['any time'],
    code: 421,
    enhanced: '4.4.2',
    shown: 'Server shutting down',
    why: 'the daemon is stopping (SIGTERM/SIGINT)',
  }),
  idle: library({
    when: ['any time'],
    code: 421,
    enhanced: '4.4.2',
    shown: 'Timeout - closing connection',
    why: 'the client sent nothing for `smtp.socket_timeout_s`',
  }),
  authenticated: library({
    when: ['AUTH'],
    code: 235,
    enhanced: '2.7.0',
    shown: 'Authentication successful',
    why: 'authenticated',
  }),
  authRequired: library({
    when: ['MAIL FROM'],
    code: 530,
    enhanced: '5.7.0',
    shown: 'Error: authentication Required',
    why: '`smtp.auth.required` and no AUTH',
  }),
  sizeAnnounced: library({
    when: ['MAIL FROM'],
    code: 552,
    enhanced: '5.3.4',
    shown: 'Error: message exceeds fixed maximum message size N',
    why: 'the announced SIZE exceeds `smtp.max_message_bytes`',
  }),
  recipientAccepted: library({
    when: ['RCPT TO'],
    code: 250,
    enhanced: '2.1.5',
    shown: 'Accepted',
    why: 'a number of ours',
  }),
  addressSyntax: library({
    when: ['RCPT TO'],
    code: 501,
    enhanced: '5.1.3',
    shown: 'Error: Bad recipient address syntax',
    why: 'not an address at all, e.g. no domain, or a quoted local part with a space (`"john doe"@…`)',
  }),
  tooManyRecipients: library({
    when: ['RCPT TO'],
    code: 452,
    enhanced: '4.5.3',
    shown: 'Error: too many recipients',
    why: '`smtp.max_recipients` reached',
  }),
  oversized: library({
    when: ['DATA'],
    code: 552,
    enhanced: '5.3.4',
    shown: 'Error: message exceeds fixed maximum message size N',
    why: 'over `smtp.max_message_bytes` (no SIZE announced, or a false one)',
  }),
} as const;

/** Every reply a client can get, ours and smtp-server's, in the order of the conversation. */
export function replyCatalogue(): ReplyDoc[] {
  const all: ReplyDoc[] = [...Object.values(smtpServerReplies), ...Object.values(replies)];
  const rank = (d: ReplyDoc) => PHASES.indexOf(d.when[0] as Phase);
  // Stable: within a phase, smtp-server's first (the greeting, the plain accept), then ours in catalogue order.
  return all
    .map((d, i) => ({ d, i }))
    .sort((a, b) => rank(a.d) - rank(b.d) || a.i - b.i)
    .map(({ d }) => d);
}

/** "550 5.7.1", for text that names a reply (config descriptions, logs). */
export const codesOf = (d: Pick<ReplyDoc, 'code' | 'enhanced'>): string => `${d.code} ${d.enhanced}`.trimEnd();

/** The README's "Every SMTP reply and why" table (`smtp2sms replies-reference`). */
export function repliesMarkdown(): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const rows = replyCatalogue().map((d) => {
    const reply = [d.code, d.enhanced, d.shown].filter((x) => x !== '').join(' ');
    const why = d.bySmtpServer ? `${d.why} (smtp-server's own words)` : d.why;
    return `| ${d.when.join(', ')} | \`${cell(reply)}\` | ${cell(why)} |`;
  });
  return ['| when | reply | why |', '| --- | --- | --- |', ...rows].join('\n');
}
