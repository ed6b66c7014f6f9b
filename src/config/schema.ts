/**
 * The configuration: every key, its default and what it means, in one place. The README's config reference is
 * generated from these descriptions (`smtp2sms config-reference`).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { postgresUrlProblem } from './postgres-url.js';
import iconv from 'iconv-lite';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { codesOf, replies as smtpReplies, smtpServerReplies } from '../replies.js';
import { parseSender, SenderError } from '../sms/sender.js';
import { parseNetworks } from './networks.js';

const port = z.number().int().min(0).max(65535);

/** A sender as parseSender understands it; '' means "not set". */
const sender = z.string().superRefine((value, ctx) => {
  if (value === '') return;
  try {
    parseSender(value);
  } catch (e) {
    if (!(e instanceof SenderError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.reason });
  }
});

const user = z
  .object({
    username: z.string().min(1).describe('Login name for SMTP AUTH PLAIN/LOGIN.'),
    password: z.string().min(1).optional().describe('Plaintext password (check-config warns; prefer password_hash).'),
    password_hash: z
      .string()
      .regex(/^scrypt\$/, 'expected a hash made by `smtp2sms hash-password` (starts with "scrypt$")')
      .optional()
      .describe('scrypt hash made by `smtp2sms hash-password`. Give exactly one of password and password_hash.'),
    source_addr: sender.optional().describe("This user's sender; overrides smpp.source_addr."),
    allowed_senders: z
      .array(sender.refine((v) => v !== '', 'empty sender'))
      .default([])
      .describe('Senders this user may ask for with the X-SMS-Sender header.'),
    admin: z
      .boolean()
      .default(false)
      .describe("The web page and API show this user everyone's messages and the binds."),
    api_token_hash: z
      .string()
      .regex(/^scrypt\$/, 'expected a hash made by `smtp2sms hash-password` (starts with "scrypt$")')
      .optional()
      .describe(
        "scrypt hash of this user's API token (Bearer), made by `smtp2sms hash-password`; no token when unset.",
      ),
  })
  .strict()
  .refine((u) => (u.password === undefined) !== (u.password_hash === undefined), {
    message: 'give exactly one of password or password_hash',
  });

const smtp = z
  .object({
    host: z.string().default('127.0.0.1').describe('Address the SMTP listener binds to.'),
    port: port.default(2525).describe('SMTP (or LMTP) port.'),
    domains: z
      .array(
        z
          .string()
          .min(1)
          .transform((d) => d.toLowerCase()),
      )
      .min(1)
      .default(['sms.localhost'])
      .describe(
        'Mail domains whose local part is a phone number: mail to <phone>@<domain>. Others are relaying and refused.',
      ),
    name: z
      .string()
      .default(hostname())
      // The reference is generated on a build machine: its host name is no one's default.
      .meta({
        description: 'Server name in the banner and EHLO reply.',
        defaultDoc: "the host's name (os.hostname())",
      }),
    lmtp: z
      .boolean()
      .default(false)
      .describe('Speak LMTP instead of SMTP (Postfix `lmtp:` transport): one reply per recipient.'),
    allow_networks: z
      .array(z.string())
      .default(['127.0.0.0/8', '::1/128'])
      .superRefine((list, ctx) => {
        try {
          parseNetworks(list);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      })
      .describe(
        `Client networks (CIDR, IPv4 and IPv6) allowed to connect; others get ${codesOf(smtpReplies.accessDenied)} at connect.`,
      ),
    tls: z
      .object({
        key: z.string().nullable().default(null).describe('PEM private key file; with cert, enables STARTTLS.'),
        cert: z.string().nullable().default(null).describe('PEM certificate (chain) file.'),
        implicit_port: port.nullable().default(null).describe('Also listen with implicit TLS (SMTPS) on this port.'),
      })
      .strict()
      .prefault({})
      .refine((t) => (t.key === null) === (t.cert === null), { message: 'give both key and cert, or neither' })
      .refine((t) => t.implicit_port === null || t.key !== null, { message: 'implicit_port needs key and cert' })
      .describe('TLS. Without key and cert, STARTTLS is not offered (no built-in self-signed certificate).'),
    auth: z
      .object({
        required: z
          .boolean()
          .default(false)
          .describe(`Refuse mail from clients that did not AUTH (${codesOf(smtpServerReplies.authRequired)}).`),
        users: z.array(user).default([]).describe('Accounts for SMTP AUTH.'),
        allow_cleartext: z
          .boolean()
          .default(false)
          .describe('Allow AUTH without TLS from non-loopback clients (passwords in clear on the wire).'),
      })
      .strict()
      .prefault({})
      .refine((a) => !a.required || a.users.length > 0, { message: 'required: true needs at least one user in users' })
      .describe('SMTP authentication.'),
    max_message_bytes: z
      .number()
      .int()
      .min(1024)
      .default(2 * 1024 * 1024)
      .describe(`Largest mail accepted, in bytes (SIZE); larger mail gets ${codesOf(smtpServerReplies.oversized)}.`),
    max_recipients: z
      .number()
      .int()
      .min(1)
      .default(50)
      .describe(`Recipients per mail; more get ${codesOf(smtpServerReplies.tooManyRecipients)}.`),
    max_clients: z.number().int().min(1).default(100).describe('Concurrent SMTP connections.'),
    socket_timeout_s: z.number().min(1).default(60).describe('Idle seconds before a client is disconnected.'),
    command_timeout_s: z
      .number()
      .min(1)
      .default(60)
      .describe(
        `Seconds a command line may take from its first byte to its end; then ${codesOf(smtpReplies.commandTooSlow)} and close (slowloris).`,
      ),
    data_timeout_s: z
      .number()
      .min(1)
      .default(600)
      .describe(
        `Seconds the message data may take from the 354 to the final "."; then ${codesOf(smtpReplies.dataTooSlow)} and close.`,
      ),
    max_html_chars: z
      .number()
      .int()
      .min(1000)
      .default(2_000_000)
      .describe(`HTML-only bodies larger than this are refused (${codesOf(smtpReplies.htmlTooLarge)}).`),
    comment_prefix: z
      .string()
      .default('')
      .describe('Lines starting with this are comments, like the text after a "~~~" line. Empty: off.'),
    default_charset: z
      .string()
      .default('utf-8')
      .refine((c) => iconv.encodingExists(c), { message: 'unknown charset' })
      .describe('Charset of text parts that declare none. Legacy senders often mean koi8-r or windows-1251.'),
    subject: z
      .enum(['prepend', 'ignore', 'only'])
      .default('prepend')
      .describe(
        'prepend: "subject\\nbody" (subject alone when the body is empty); ignore: body only; only: subject only.',
      ),
  })
  .strict()
  .prefault({});

const smpp = z
  .object({
    url: z
      .string()
      .regex(/^s?smpp:\/\/[^/\s]+$/, 'expected smpp://host:port or ssmpp://host:port (TLS)')
      .default('smpp://127.0.0.1:2775')
      .describe('SMSC address: smpp://host:port, or ssmpp://host:port for TLS.'),
    system_id: z
      .string()
      .default('smtp2sms')
      .describe('SMPP login (system_id); SMPP 3.4 allows 15 characters, some SMSCs more.'),
    password: z
      .string()
      .default('')
      .describe(
        'SMPP password (SMPP 3.4 allows 8 characters, some SMSCs more). Secret: prefer SMTP2SMS_SMPP_PASSWORD.',
      ),
    system_type: z
      .string()
      .max(12)
      .default('')
      .describe('SMPP system_type. SMS Center: "ISO" makes data_coding 0 carry ISO-8859-1 bytes instead of GSM.'),
    source_addr: sender
      .default('')
      .describe(
        'Default sender: up to 11 characters with a letter (TON 5), up to 15 digits (TON 1), 3–8 digits (short ' +
          'code, TON 3). Empty: the SMSC decides.',
      ),
    source_ton: z
      .number()
      .int()
      .min(0)
      .max(6)
      .nullable()
      .default(null)
      .describe('Force source_addr_ton (null: from the sender form).'),
    source_npi: z
      .number()
      .int()
      .min(0)
      .max(18)
      .nullable()
      .default(null)
      .describe('Force source_addr_npi (null: from the sender form).'),
    window: z.number().int().min(1).max(1000).default(10).describe('SUBMIT_SM outstanding at once per bind.'),
    throughput: z.number().min(0).default(0).describe('Most SUBMIT_SM per second over all binds; 0 = no limit.'),
    registered_delivery: z
      .number()
      .int()
      .min(0)
      .max(2)
      .default(1)
      .describe('Receipts to ask for: 0 none, 1 on final state, 2 on failure only.'),
    profile: z
      .enum(['generic', 'smsc'])
      .default('generic')
      .describe('generic: SMPP 3.4 data_coding (GSM 0, Latin-1 3, UCS-2 8); smsc: SMS Center, coding*4 (0, 4, 8).'),
    concatenation: z
      .enum(['udh8', 'udh16', 'sar', 'payload'])
      .default('udh8')
      .describe(
        'Long texts: udh8/udh16 concatenation header, sar TLVs, or payload (one message_payload; the SMSC splits).',
      ),
    binds: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe('Parallel SMPP sessions (each a bind_transceiver, or a transmitter and a receiver).'),
    bind_mode: z
      .enum(['transceiver', 'transmitter_receiver'])
      .default('transceiver')
      .describe('transceiver: one session sends and receives receipts; transmitter_receiver: a bind of each.'),
    tls: z
      .object({
        ca: z
          .string()
          .nullable()
          .default(null)
          .describe('PEM CA file to verify the SMSC certificate (ssmpp://); null: system CAs.'),
        reject_unauthorized: z.boolean().default(true).describe('Refuse an SMSC certificate that does not verify.'),
        servername: z
          .string()
          .nullable()
          .default(null)
          .describe('TLS server name (SNI and verification) when it differs from the URL host.'),
      })
      .strict()
      .prefault({})
      .describe('TLS for ssmpp:// URLs.'),
    enquire_link_s: z
      .number()
      .min(1)
      .default(30)
      .describe('ENQUIRE_LINK interval (SMS Center drops a link idle for 2 minutes: keep ≤ 60).'),
    response_timeout_s: z
      .number()
      .min(0.1)
      .default(10)
      .describe('Wait for a *_resp (and for connect) before the request counts as lost.'),
    reconnect_min_s: z
      .number()
      .min(0.01)
      .default(1)
      .describe('First reconnect delay; doubles per failure (with jitter).'),
    reconnect_max_s: z.number().min(0.01).default(60).describe('Longest reconnect delay.'),
    bind_refused_retry_s: z
      .number()
      .min(0.01)
      .default(60)
      .describe('Wait after the SMSC refused the bind (bad credentials) before trying again.'),
    max_attempts: z.number().int().min(1).default(10).describe('SUBMIT attempts per message before it is expired.'),
    retry_base_s: z.number().min(0.01).default(5).describe('First retry delay of a message; doubles per attempt.'),
    retry_max_s: z.number().min(0.01).default(300).describe('Longest retry delay of a message.'),
    status_overrides: z
      .record(
        z.string().regex(/^(0x[0-9a-fA-F]+|\d+)$/, 'expected a command_status such as 0x45 or 69'),
        z.enum(['throttle', 'retry', 'fail']),
      )
      .default({})
      .describe('command_status → throttle | retry | fail, overriding the built-in table (e.g. { "0x45": retry }).'),
    shutdown_timeout_s: z
      .number()
      .min(0)
      .default(10)
      .describe('On SIGTERM: how long to wait for SUBMIT_SMs in flight before unbinding.'),
    comments: z
      .enum(['strip', 'smsc'])
      .default('strip')
      .describe(
        'Comments (after a "~~~" line): strip never sends them; smsc appends "\\n~~~\\n"+comment for SMS ' +
          "Center's history.",
      ),
  })
  .strict()
  .prefault({});

const sms = z
  .object({
    default_region: z
      .string()
      .length(2)
      .transform((r) => r.toUpperCase())
      .refine((r) => isSupportedCountry(r), { message: 'unknown country: expected an ISO 3166 code such as RU or DE' })
      .default('RU')
      .describe('Country for numbers written without an international prefix (89991234567).'),
    max_parts: z.number().int().min(1).max(255).default(6).describe('Most SMS parts one message may become.'),
    on_too_long: z
      .enum(['reject', 'truncate'])
      .default('truncate')
      .describe(
        `Over max_parts: reject (${codesOf(smtpReplies.tooLong)}) or truncate with a final "…" (an alert cut short beats an alert lost).`,
      ),
    smart_encoding: z
      .boolean()
      .default(true)
      .describe('Replace typographic quotes, dashes, odd spaces… by GSM look-alikes when that avoids UCS-2.'),
    transliterate: z.boolean().default(false).describe('Cyrillic → Latin when that lets the text go as GSM.'),
    allow_latin1: z
      .boolean()
      .default(false)
      .describe('Send text GSM cannot carry but ISO-8859-1 can as Latin-1 (140 per part) instead of UCS-2 (70).'),
  })
  .strict()
  .prefault({});

const policy = z
  .object({
    duplicate_window_s: z
      .number()
      .min(0)
      .default(60)
      .describe('Refuse an identical SMS (recipient, text, sender) within this many seconds; 0 = off.'),
    duplicate_action: z
      .enum(['reject', 'drop'])
      .default('reject')
      .describe(
        `A duplicate: reject (${codesOf(smtpReplies.duplicate)} naming it) or drop (${smtpReplies.duplicateDropped.code}, logged, nothing sent).`,
      ),
    retransmit_window_s: z
      .number()
      .min(0)
      .default(86_400)
      .describe(
        'The same Message-ID for the same recipient within this many seconds is a client resending: 250 with ' +
          'the first queue id, no second SMS; 0 = off.',
      ),
    flood_max: z
      .number()
      .int()
      .min(0)
      .default(50)
      .describe('Messages one subscriber may get in a streak of gaps under flood_gap_s; 0 = off.'),
    flood_gap_s: z.number().min(0).default(30).describe('A gap this long (seconds) ends a streak.'),
    composite_window_s: z
      .number()
      .min(0)
      .default(60)
      .describe(
        'All parts of a long SMS must reach the SMSC within this many seconds of the first, else it is sent ' +
          'again whole; 0 = off.',
      ),
  })
  .strict()
  .prefault({});

const spool = z
  .object({
    path: z
      .string()
      .min(1)
      .default('./var/spool.sqlite')
      // Resolved once, here: the daemon, its start line, check-config and `queue` all name the same absolute file.
      .transform((p) => (p === ':memory:' ? p : resolve(p)))
      .describe(
        'SQLite spool file; its directory is created. A relative path is taken from the working directory ' +
          '(systemd: WorkingDirectory), not from the config file’s directory.',
      ),
    busy_timeout_ms: z
      .number()
      .int()
      .min(0)
      .default(5000)
      .describe(`How long a write waits for a locked spool before the mail gets ${codesOf(smtpReplies.notStored)}.`),
    keep_days: z
      .number()
      .min(0)
      .default(30)
      .describe('Final rows (delivered, failed, …) are deleted after this many days; 0 = keep.'),
    max_age_s: z
      .number()
      .min(1)
      .default(86_400)
      .describe('A message not submitted within this many seconds of acceptance is expired.'),
    max_queued: z
      .number()
      .int()
      .min(1)
      .default(100_000)
      .describe(`Messages waiting for the SMSC above which new mail gets ${codesOf(smtpReplies.queueFull)}.`),
    backend: z
      .enum(['sqlite', 'postgres'])
      .default('sqlite')
      .describe(
        'Where the queue lives: `sqlite` (spool.path, one daemon) or `postgres` (spool.url; see "PostgreSQL spool").',
      ),
    url: z
      .string()
      .nullable()
      .default(null)
      .refine((u) => u === null || postgresUrlProblem(u) === undefined, {
        // The message must not echo the value: it may carry a password.
        error: (issue) => postgresUrlProblem(String(issue.input)) ?? 'invalid',
      })
      .describe(
        'PostgreSQL spool (spool.backend: postgres): `postgres://user:password@host:5432/database`. Also from ' +
          'SMTP2SMS_SPOOL_URL; the password alone from SMTP2SMS_SPOOL_PASSWORD (spool.password).',
      ),
    password: z
      .string()
      .optional()
      .describe('PostgreSQL password, used instead of the one in spool.url (keeps it out of the URL and the file).'),
    pool_size: z.number().int().min(1).max(1000).default(10).describe('Most PostgreSQL connections the daemon opens.'),
    statement_timeout_ms: z
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe(
        `PostgreSQL statement_timeout of the spool’s sessions: a statement past it fails (mail gets ${codesOf(smtpReplies.notStored)}); 0 = none.`,
      ),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.backend === 'postgres' && s.url === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'required when spool.backend is postgres (postgres://user:password@host:5432/db)',
      });
    }
  })
  .prefault({});

const metrics = z
  .object({
    host: z.string().default('127.0.0.1').describe('Address of the metrics and health endpoint.'),
    port: port.default(9465).describe('Port of /metrics, /healthz and /readyz; 0 = off.'),
  })
  .strict()
  .prefault({});

const web = z
  .object({
    host: z.string().default('127.0.0.1').describe('Address of the web page and JSON API.'),
    port: port.default(8025).describe('Port of the web page and JSON API (see "Web page and API"); 0 = off.'),
    tls: z.boolean().default(false).describe('Serve HTTPS with smtp.tls.key and smtp.tls.cert (cookies then Secure).'),
    session_hours: z.number().min(0.1).default(12).describe('A sign-in lasts this long without use.'),
  })
  .strict()
  .prefault({});

const outbound = z
  .object({
    smtp_url: z
      .string()
      .nullable()
      .default(null)
      .refine((u) => u === null || /^smtps?:\/\/[^/]+/.test(u), {
        message: 'expected smtp://host:25 or smtps://user:password@host:465',
      })
      .describe(
        'Smarthost for delivery reports and reply mails: `smtp://host:25` (STARTTLS when offered), ' +
          '`smtps://user:password@host:465`. Unset: no reports, no reply mails.',
      ),
    from: z
      .string()
      .nullable()
      .default(null)
      .meta({ description: 'From of delivery reports.', defaultDoc: 'MAILER-DAEMON@<first smtp.domains entry>' }),
    retry_min_s: z.number().min(0.1).default(30).describe('First retry of an outbox mail the smarthost did not take.'),
    retry_max_s: z.number().min(1).default(3600).describe('Longest wait between retries (the wait doubles each time).'),
    drop_after_s: z
      .number()
      .min(1)
      .default(5 * 86_400)
      .describe(
        'An outbox mail not sent this long after it was made (refused or smarthost down) is logged and dropped.',
      ),
  })
  .strict()
  .prefault({});

const notifyList = z.array(z.enum(['success', 'failure', 'delay']));

const reports = z
  .object({
    default_notify: notifyList
      .default(['failure'])
      .describe('Reports for a recipient given without NOTIFY (RFC 3461): any of success, failure, delay; [] = none.'),
    delay_after_s: z
      .number()
      .min(1)
      .default(4 * 3600)
      .describe('A recipient still not submitted this long after acceptance gets one `delayed` report (NOTIFY=DELAY).'),
    relayed_after_s: z
      .number()
      .min(1)
      .default(3600)
      .describe('A submitted SMS with no final receipt this long after its submission is reported `relayed`.'),
    max_per_sender_per_hour: z
      .number()
      .int()
      .min(0)
      .default(100)
      .describe('Most reports to one sender address per hour; more are logged and not sent (0 = no limit).'),
  })
  .strict()
  .prefault({});

const replies = z
  .object({
    enabled: z.boolean().nullable().default(null).meta({
      description: 'Mail SMS replies from phones to the sender of the SMS they answer.',
      defaultDoc: 'on when outbound.smtp_url is set',
    }),
    window_s: z
      .number()
      .min(1)
      .default(7 * 86_400)
      .describe('A reply answers the latest SMS sent to that phone within this long; older → unmatched.'),
    default_to: z
      .string()
      .nullable()
      .default(null)
      .describe('Address for replies that match no sent SMS; unset: they are kept and shown by `smtp2sms queue`.'),
    reassembly_timeout_s: z
      .number()
      .min(1)
      .default(300)
      .describe('Parts of a concatenated reply still missing after this long: the rest is handed over, gaps marked.'),
  })
  .strict()
  .prefault({});

const simulator = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe('Run the embedded SMSC simulator (demo mode): it prints every SMS it receives.'),
    host: z.string().default('127.0.0.1').describe('Simulator listen address.'),
    port: port.default(2775).describe('Simulator port; point smpp.url at it.'),
    auto_reply: z
      .string()
      .max(1000)
      .default('')
      .describe(
        'The simulated phone answers every SMS with this text (a reply by SMS, as from the phone); "" answers none.',
      ),
    auto_reply_delay_s: z.number().min(0).max(3600).default(2).describe('Seconds before the simulated phone answers.'),
  })
  .strict()
  .prefault({});

/** Several nodes on one PostgreSQL database (spool.backend: postgres); see "Several nodes" in the README. */
const node = z
  .object({
    id: z
      .string()
      .min(1)
      .max(60)
      .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only')
      .default(hostname())
      .meta({
        description:
          'This node’s name in the shared database (the rows it sends, the binds it holds), its logs and metrics. ' +
          'Unique per node and stable across restarts; a second live node with the same id is refused at start.',
        defaultDoc: "the host's name (os.hostname())",
      }),
  })
  .strict()
  .prefault({});

const cluster = z
  .object({
    lease_s: z
      .number()
      .min(1)
      .max(3600)
      .default(15)
      .describe(
        'A row being sent is this node’s for this long, renewed while it relays; a dead node’s rows are taken ' +
          'over after it.',
      ),
    lease_renew_s: z
      .number()
      .min(0.2)
      .default(5)
      .describe('How often the relaying node renews the leases of the rows it is sending.'),
    max_clock_skew_s: z
      .number()
      .min(0.1)
      .max(3600)
      .default(2)
      .describe(
        `A node whose clock is this far off the database's takes no mail (${codesOf(smtpReplies.clockSkewed)}) and says so; within it, ` +
          'its times are corrected by the measured offset.',
      ),
    failover_s: z
      .number()
      .min(1)
      .max(300)
      .default(15)
      .describe(
        'Only one node holds the SMPP binds; when it dies or loses the database another binds within about ' +
          'this time. ' +
          'The holder checks its lock every third of it and unbinds when the check fails.',
      ),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.lease_renew_s >= c.lease_s) {
      ctx.addIssue({ code: 'custom', path: ['lease_renew_s'], message: 'must be less than cluster.lease_s' });
    }
  })
  .prefault({});

const log = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Log level.'),
  })
  .strict()
  .prefault({});

export const configSchema = z
  .object({ smtp, smpp, sms, policy, spool, node, cluster, metrics, web, outbound, reports, replies, simulator, log })
  .strict()
  .superRefine((c, ctx) => {
    if (c.web.tls && c.smtp.tls.key === null) {
      ctx.addIssue({ code: 'custom', path: ['web', 'tls'], message: 'needs smtp.tls.key and smtp.tls.cert' });
    }
  });

export type Config = z.output<typeof configSchema>;

/** Keys whose values never appear in output or logs. */
export const SECRET_KEYS = new Set(['password', 'password_hash', 'api_token_hash']);
