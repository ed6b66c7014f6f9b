/**
 * The SMTP (or LMTP) listener: who may connect, who may AUTH, which recipients are ours, and handing DATA to the
 * intake. Every refusal is an explicit code, enhanced code and reason.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config/schema.js';
import { isReplyError } from '../errors.js';
import type { Logger } from '../ops/log.js';
import type { SmtpMetrics } from '../ops/metrics.js';
import type { Phone } from '../sms/phone.js';
import { authenticate, AuthThrottle, cleartextAuthAllowed, sameCredentials, type AuthUser } from './auth.js';
import { enforceDeadlines } from './deadlines.js';
import { replyLine, smtpError } from './enhanced-codes.js';
import type { IntakeResult, Submission } from './intake.js';
import { replies, type Reply } from '../replies.js';
import { isLoopback, parseNetworks } from '../config/networks.js';
import { parseRecipient } from './recipient.js';

export interface SmtpDeps {
  config: Config;
  log: Logger;
  /** Handles a complete mail (the intake); must never throw. */
  accept(sub: Submission, log: Logger): Promise<IntakeResult>;
  /** Checked at MAIL FROM: a reply refusing new mail (queue full), or undefined. */
  admission?(): Reply | undefined;
  /** Checked at RCPT TO after the address is valid: a reply refusing this recipient (flood), or undefined. */
  checkRecipient?(phone: Phone): Promise<Reply | undefined>;
  throttle?: AuthThrottle;
  metrics?: SmtpMetrics;
}

export interface SmtpListener {
  servers: SMTPServer[];
  ports(): number[];
  /** Apply new users, domains and allow_networks to the running listener; open sessions stay up. */
  reload(config: Config): void;
  close(): Promise<void>;
}

/** What SIGHUP may change without a restart. */
interface LiveSettings {
  users: AuthUser[];
  domains: string[];
  networks: ReturnType<typeof parseNetworks>;
}

function readStream(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => {
      if (!stream.sizeExceeded) chunks.push(c);
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

export function createSmtpServers(deps: SmtpDeps, live: LiveSettings): SMTPServer[] {
  const { config, log } = deps;
  const smtp = config.smtp;
  const throttle = deps.throttle ?? new AuthThrottle();
  const tls =
    smtp.tls.key && smtp.tls.cert ? { key: readFileSync(smtp.tls.key), cert: readFileSync(smtp.tls.cert) } : undefined;
  const sessions = new Map<string, Logger>();
  /** The number each accepted RCPT TO is, parsed once at RCPT and reused at DATA. */
  const phones = new WeakMap<object, Phone>();
  const sessionLog = (s: SMTPServerSession) => sessions.get(s.id) ?? log.child({ session: s.id, ip: s.remoteAddress });
  const disabled = disabledCommands(live.users.length > 0, tls !== undefined);

  const options = (secure: boolean): SMTPServerOptions => ({
    secure,
    ...(tls ?? {}),
    name: smtp.name,
    banner: 'smtp2sms: mail to <phone>@<domain> becomes SMS',
    lmtp: smtp.lmtp,
    size: smtp.max_message_bytes,
    rejectOversized: true,
    hideENHANCEDSTATUSCODES: false,
    // DSN (RFC 3461): RET/ENVID and NOTIFY/ORCPT are kept with the rows; reports go out through the outbox.
    hideDSN: false,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !smtp.auth.required,
    // Cleartext AUTH is decided per client in onAuth (loopback may, others need TLS or allow_cleartext).
    allowInsecureAuth: true,
    disabledCommands: disabled,
    maxClients: smtp.max_clients,
    maxRecipients: smtp.max_recipients,
    socketTimeout: smtp.socket_timeout_s * 1000,
    closeTimeout: 5000,
    disableReverseLookup: true,
    logger: false,

    onConnect(session, callback) {
      const slog = log.child({ session: session.id, ip: session.remoteAddress });
      if (!live.networks.allows(session.remoteAddress)) {
        slog.warn('connection refused: client not in smtp.allow_networks');
        return callback(smtpError(replies.accessDenied(session.remoteAddress)));
      }
      sessions.set(session.id, slog);
      deps.metrics?.sessions.inc();
      slog.debug('connected');
      callback();
    },

    onClose(session) {
      sessions.delete(session.id);
    },

    onAuth(auth, session, callback) {
      const slog = sessionLog(session);
      const ip = session.remoteAddress;
      if (!cleartextAuthAllowed(session.secure, isLoopback(ip), smtp.auth.allow_cleartext)) {
        slog.warn({ username: auth.username }, 'AUTH refused: cleartext from a non-loopback client');
        return callback(smtpError(replies.encryptionRequired()));
      }
      authenticate(live.users, auth.username ?? '', auth.password ?? '').then(
        (user) => {
          if (user) {
            throttle.succeed(ip);
            const child = slog.child({ user: user.username });
            sessions.set(session.id, child);
            child.info('authenticated');
            return callback(null, { user });
          }
          const delay = throttle.fail(ip);
          slog.warn({ username: auth.username, delayMs: delay }, 'AUTH failed');
          setTimeout(() => callback(smtpError(replies.authFailed())), delay);
        },
        (err: unknown) => {
          slog.error({ err }, 'AUTH check failed');
          callback(smtpError(replies.authUnavailable()));
        },
      );
    },

    onMailFrom(_address, session, callback) {
      // A reload applies to sessions that authenticated before it: a removed user, or one whose password changed,
      // sends no more mail on the old session; a kept one sends with its current settings (sender, admin).
      const authed = session.user as AuthUser | undefined;
      if (authed) {
        const current = live.users.find((u) => u.username === authed.username);
        if (!current || !sameCredentials(authed, current)) {
          sessionLog(session).warn({ user: authed.username }, 'mail refused: the account changed since AUTH (reload)');
          return callback(smtpError(replies.accountChanged()));
        }
        session.user = current;
      }
      const refusal = deps.admission?.();
      if (refusal) {
        sessionLog(session).warn({ code: refusal.code, reason: refusal.text }, 'mail refused at MAIL FROM');
        return callback(smtpError(refusal));
      }
      callback();
    },

    onRcptTo(address, session, callback) {
      const slog = sessionLog(session);
      const count = (code: number) =>
        deps.metrics?.recipients.inc({ outcome: code < 400 ? 'accepted' : 'refused', code: String(code) });
      const refuse = (e: unknown) => {
        if (!isReplyError(e)) {
          count(451);
          slog.error({ err: e, rcpt: address.address }, 'recipient check failed');
          return callback(smtpError(replies.localError()));
        }
        count(e.reply.code);
        slog.info({ rcpt: address.address, code: e.reply.code, reason: e.message }, 'recipient refused');
        callback(smtpError(e.reply));
      };
      let phone: Phone;
      try {
        phone = parseRecipient(address.address, live.domains, config.sms.default_region);
      } catch (e) {
        return refuse(e);
      }
      const check = deps.checkRecipient ? deps.checkRecipient(phone) : Promise.resolve(undefined);
      check.then(
        (refusal) => {
          if (refusal) {
            count(refusal.code);
            slog.info({ rcpt: address.address, code: refusal.code, reason: refusal.text }, 'recipient refused');
            return callback(smtpError(refusal));
          }
          count(250);
          phones.set(address, phone);
          callback();
        },
        (err: unknown) => refuse(err),
      );
    },

    onData(stream, session, callback) {
      const slog = sessionLog(session);
      readStream(stream)
        .then(async (raw) => {
          // rejectOversized answers 552 5.3.4 itself; the stream still had to be read to the end.
          if (stream.sizeExceeded) return callback(null);
          const recipients = session.envelope.rcptTo.map((r) => ({
            address: r.address,
            phone: phones.get(r) ?? parseRecipient(r.address, live.domains, config.sms.default_region),
            notify: r.dsn?.notify ?? null,
            orcpt: r.dsn?.orcpt ?? null,
          }));
          const dsn = session.envelope.dsn;
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const result = await deps.accept(
            {
              raw,
              recipients,
              user: session.user as AuthUser | undefined,
              mailFrom,
              clientIp: session.remoteAddress,
              ret: dsn?.ret === 'FULL' || dsn?.ret === 'HDRS' ? dsn.ret : null,
              envid: dsn?.envid ?? null,
            },
            slog,
          );
          const toSmtp = (r: Reply): string | Error => (r.code < 400 ? replyLine(r) : smtpError(r));
          deps.metrics?.mails.inc({
            outcome: result.reply.code < 400 ? 'accepted' : 'refused',
            code: String(result.reply.code),
            enhanced: result.reply.enhanced,
          });
          if (smtp.lmtp) return callback(null, result.perRecipient.map(toSmtp));
          const reply = toSmtp(result.reply);
          return typeof reply === 'string' ? callback(null, reply) : callback(reply);
        })
        .catch((err: unknown) => {
          // The client hung up (or was closed for being too slow): its business, and nobody is left to answer.
          if (clientGone(err)) {
            slog.info({ bytes: stream.byteLength }, 'connection closed during DATA; nothing queued');
            return callback(null);
          }
          const reply = replies.localError();
          deps.metrics?.mails.inc({ outcome: 'refused', code: String(reply.code), enhanced: reply.enhanced });
          slog.error({ err }, 'DATA handling failed');
          callback(smtpError(reply));
        });
    },
  });

  const servers = [new SMTPServer(options(false))];
  if (tls && smtp.tls.implicit_port !== null) servers.push(new SMTPServer(options(true)));
  const limits = { commandMs: smtp.command_timeout_s * 1000, dataMs: smtp.data_timeout_s * 1000 };
  for (const s of servers) {
    s.on('error', (err) => {
      // smtp-server passes on a reset or broken pipe inside a transaction: a client that went away, not our fault.
      if (clientDropped(err)) {
        const ip = (err as { remoteAddress?: string }).remoteAddress;
        return log.info({ err: err.message, ip }, 'client connection dropped');
      }
      log.error({ err }, 'SMTP server error');
    });
    const stopDeadlines = enforceDeadlines(s, limits, (id, phase, reply) => {
      const slog = sessions.get(id) ?? log.child({ session: id });
      slog.warn({ phase, code: reply.code, reason: reply.text }, 'client too slow; closing the connection');
    });
    s.server.once('close', stopDeadlines);
    // Replies are small writes answered by the client: no Nagle delay waiting for delayed ACKs.
    s.server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
  }
  return servers;
}

/** smtp-server's error for a data stream whose connection closed before the final ".". */
function clientGone(err: unknown): boolean {
  return err instanceof Error && (err as Error & { code?: string }).code === 'ECONNECTION';
}

const DROPPED = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
function clientDropped(err: Error): boolean {
  return DROPPED.has((err as Error & { code?: string }).code ?? '');
}

function disabledCommands(haveUsers: boolean, haveTls: boolean): string[] {
  return [...(haveUsers ? [] : ['AUTH']), ...(haveTls ? [] : ['STARTTLS'])];
}

function liveSettings(config: Config): LiveSettings {
  return {
    users: config.smtp.auth.users as AuthUser[],
    domains: config.smtp.domains,
    networks: parseNetworks(config.smtp.allow_networks),
  };
}

function listenOne(server: SMTPServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startSmtp(deps: SmtpDeps): Promise<SmtpListener> {
  const live = liveSettings(deps.config);
  const servers = createSmtpServers(deps, live);
  const { smtp } = deps.config;
  const ports = [smtp.port, smtp.tls.implicit_port ?? 0];
  await Promise.all(servers.map((s, i) => listenOne(s, ports[i] as number, smtp.host)));
  return {
    servers,
    ports: () => servers.map((s) => (s.server.address() as AddressInfo).port),
    reload(config) {
      Object.assign(live, liveSettings(config));
      const tls = deps.config.smtp.tls.key !== null;
      // smtp-server reads disabledCommands per command: users added to an AUTH-less server make AUTH appear.
      for (const s of servers)
        (s.options as { disabledCommands?: string[] }).disabledCommands = disabledCommands(live.users.length > 0, tls);
    },
    close: () =>
      Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined),
  };
}
