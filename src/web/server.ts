/**
 * The senders' web page and JSON API on web.host:web.port (see README "Web page and API"). Fastify with
 * @fastify/session (signed cookie, HttpOnly, SameSite=Strict, Secure under TLS), @fastify/csrf-protection on every
 * form that changes something, @fastify/formbody and @fastify/static (the page's only script is /static/app.js: the
 * CSP forbids inline script). Every read is scoped in the spool's query itself (spool/message-query.ts), so no
 * id, filter or API call reaches another user's rows.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import { CODING_NAMES } from '../sms/encode.js';
import { cleartextAuthAllowed } from '../smtp/auth.js';
import { isLoopback } from '../config/networks.js';
import { DAY_MS } from '../spool/message-query.js';
import type { SmsRow } from '../spool/types.js';
import type { Spool } from '../spool/spool.js';
import type { BindHealth, ClusterStatus } from '../ops/health.js';
import { Accounts, scopeOf, type SignIn, type Viewer, type WebUser } from './access.js';
import { explainReason } from './explain.js';
import { dailyPage, errorPage, layout, listPage, messagePage, notFoundPage, signInPage, statusPage } from './pages.js';
import { cursorOf, filterFrom, QueryError, type Query } from './query.js';
import { ExpiringSessionStore } from './sessions.js';

declare module 'fastify' {
  interface Session {
    /** Checked against the current accounts on every request (access.ts): a reload can end it. */
    signIn?: SignIn;
  }
}

export interface WebSources {
  spool: Pick<Spool, 'listMessages' | 'byQueueId' | 'dailyCounts' | 'cancelQueued' | 'countsByState' | 'outboxFor'>;
  binds(): Promise<BindHealth[]>;
  /** Several nodes on PostgreSQL: the bind holder and the live nodes; undefined with one node (SQLite). */
  cluster?: (() => Promise<ClusterStatus | undefined>) | undefined;
  /** This node's id when several nodes share the spool. */
  node?: string | undefined;
  now?: () => number;
}

export interface WebServer {
  port(): number;
  /**
   * Take a reloaded smtp.auth.users: sign-in, Basic and Bearer check the new list from now on, and the sessions of
   * users removed or with a new password end at once. Returns how many sessions ended.
   */
  reload(users: Config['smtp']['auth']['users']): number;
  close(): Promise<void>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

// Beside this module: src/web/public under tsx, dist/web/public once built (npm run build copies it there).
const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));

/**
 * A message's rows as the API gives them: what a sender needs, no internals (fingerprint, stored PDUs). The number
 * and the encoding read as on the page, in `smtp2sms queue` and in the SMTP reply: `+79991234567`, `GSM`.
 */
export function messageJson(r: SmsRow, admin: boolean): Record<string, unknown> {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    queueId: r.queueId,
    id: r.id,
    recipient: `+${r.recipient}`,
    state: r.state,
    reason: r.reason,
    reasonText: r.state === 'delivered' ? null : (explainReason(r.reason) ?? null),
    text: r.text,
    comment: r.comment,
    sender: r.sourceAddr,
    smtpUser: r.smtpUser,
    mailFrom: r.mailFrom,
    messageId: r.messageId,
    encoding: CODING_NAMES[r.coding],
    smsCount: r.smsCount,
    truncated: r.truncated,
    attempts: r.attempts,
    parts: r.smscIds.map((smscId, i) => ({
      smscId,
      receipt: r.receipts[i] ?? null,
      receiptAt: iso(r.receiptFacts[i]?.at ?? null),
      err: r.receiptFacts[i]?.err ?? null,
    })),
    acceptedAt: iso(r.createdAt),
    firstSubmitAt: iso(r.firstSubmitAt),
    updatedAt: iso(r.updatedAt),
    ...(admin ? { clientIp: r.clientIp } : {}),
  };
}

export async function startWeb(config: Config, log: Logger, src: WebSources): Promise<WebServer> {
  const now = src.now ?? Date.now;
  const tls = config.web.tls;
  const https = tls ? { key: readFileSync(config.smtp.tls.key!), cert: readFileSync(config.smtp.tls.cert!) } : null;
  const app = Fastify({ logger: false, trustProxy: false, bodyLimit: 64 * 1024, ...(https ? { https } : {}) });
  const accounts = new Accounts(config.smtp.auth.users as WebUser[], now);
  const store = new ExpiringSessionStore(config.web.session_hours * 3_600_000, now);
  const wlog = log.child({ component: 'web' });

  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: randomBytes(32).toString('base64'),
    cookieName: 'smtp2sms_session',
    cookie: {
      httpOnly: true,
      sameSite: 'strict',
      secure: tls,
      path: '/',
      maxAge: config.web.session_hours * 3_600_000,
    },
    saveUninitialized: false,
    rolling: true,
    store,
  });
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session' });
  await app.register(fastifyFormbody);
  await app.register(fastifyStatic, { root: PUBLIC, prefix: '/static/', index: false, list: false });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  /** Passwords cross the wire in clear without TLS: the SMTP AUTH rule (loopback, or smtp.auth.allow_cleartext). */
  const cleartextOk = (req: FastifyRequest) =>
    cleartextAuthAllowed(tls, isLoopback(req.socket.remoteAddress ?? ''), config.smtp.auth.allow_cleartext);
  const page = (reply: FastifyReply, status: number, title: string, body: ReturnType<typeof signInPage>, v?: Viewer) =>
    reply
      .status(status)
      .type('text/html; charset=utf-8')
      .send(layout(title, v, body, v ? reply.generateCsrf() : undefined));
  /** Who this session is signed in as now; undefined when not signed in, or when a reload ended it. */
  const signedIn = (req: FastifyRequest): Viewer | undefined => accounts.viewer(req.session?.signIn);
  const viewerOr = (req: FastifyRequest, reply: FastifyReply): Viewer | undefined => {
    const v = signedIn(req);
    if (!v) void reply.redirect('/signin', 303);
    return v;
  };

  app.setErrorHandler((err, req, reply) => {
    const status = err instanceof QueryError ? 400 : ((err as { statusCode?: number }).statusCode ?? 500);
    if (status >= 500) wlog.error({ err, url: req.url }, 'web request failed');
    const message = status >= 500 ? 'internal error (see the daemon log)' : (err as Error).message;
    if (req.url.startsWith('/api/')) return reply.status(status).send({ error: message });
    return page(reply, status, 'Error', errorPage(message), signedIn(req));
  });

  // ---- sign-in, sign-out ----
  app.get('/signin', async (req, reply) => {
    if (signedIn(req)) return reply.redirect('/', 303);
    return page(reply, 200, 'Sign in', signInPage());
  });
  app.post<{ Body: { username?: string; password?: string } }>('/signin', async (req, reply) => {
    if (!cleartextOk(req)) {
      return page(
        reply,
        403,
        'Sign in',
        signInPage('Sign-in needs HTTPS here (web.tls), or smtp.auth.allow_cleartext.'),
      );
    }
    const ip = req.socket.remoteAddress ?? '';
    const signIn = await accounts.password(String(req.body?.username ?? ''), String(req.body?.password ?? ''));
    if (!signIn) {
      await sleep(accounts.throttle.fail(ip));
      wlog.warn({ ip, username: String(req.body?.username ?? '').slice(0, 64) }, 'web sign-in failed');
      return page(reply, 401, 'Sign in', signInPage('Wrong user name or password.'));
    }
    accounts.throttle.succeed(ip);
    await req.session.regenerate();
    req.session.signIn = signIn;
    return reply.redirect('/', 303);
  });
  app.post('/signout', { preHandler: app.csrfProtection }, async (req, reply) => {
    await req.session.destroy();
    return reply.redirect('/signin', 303);
  });

  // ---- pages ----
  app.get<{ Querystring: Query }>('/', async (req, reply) => {
    const v = viewerOr(req, reply);
    if (!v) return reply;
    const filter = filterFrom(req.query, scopeOf(v));
    const rows = await src.spool.listMessages({ ...filter, limit: filter.limit + 1 });
    const next = rows.length > filter.limit ? cursorOf(rows[filter.limit - 1]!) : undefined;
    return page(reply, 200, 'Messages', listPage(rows.slice(0, filter.limit), req.query, next, v), v);
  });
  app.get<{ Params: { queueId: string }; Querystring: { done?: string } }>('/messages/:queueId', async (req, reply) => {
    const v = viewerOr(req, reply);
    if (!v) return reply;
    const rows = await ownRows(req.params.queueId, v);
    if (rows.length === 0) return page(reply, 404, 'Not found', notFoundPage(), v);
    const outbox = await src.spool.outboxFor(req.params.queueId);
    return page(
      reply,
      200,
      `Message ${req.params.queueId}`,
      messagePage(rows, v, reply.generateCsrf(), NOTICES[req.query.done ?? ''], outbox),
      v,
    );
  });
  app.post<{ Params: { queueId: string }; Body: { id?: string } }>(
    '/messages/:queueId/cancel',
    { preHandler: app.csrfProtection },
    async (req, reply) => {
      const v = viewerOr(req, reply);
      if (!v) return reply;
      const id = Number(req.body?.id);
      const row = (await ownRows(req.params.queueId, v)).find((r) => r.id === id);
      if (!row) return page(reply, 404, 'Not found', notFoundPage(), v);
      const outcome = await src.spool.cancelQueued(id, scopeOf(v), `cancelled by ${v.username} on the web page`, now());
      wlog.info(
        { queueId: row.queueId, recipient: row.recipient, by: v.username, outcome: outcome.kind },
        'cancel asked',
      );
      const done = outcome.kind === 'cancelled' ? 'cancelled' : 'too-late';
      return reply.redirect(`/messages/${encodeURIComponent(req.params.queueId)}?done=${done}`, 303);
    },
  );
  app.get('/daily', async (req, reply) => {
    const v = viewerOr(req, reply);
    if (!v) return reply;
    const counts = await src.spool.dailyCounts(scopeOf(v), Math.floor(now() / DAY_MS) * DAY_MS - 29 * DAY_MS);
    return page(reply, 200, 'Daily counts', dailyPage(counts, now()), v);
  });
  app.get('/status', async (req, reply) => {
    const v = viewerOr(req, reply);
    if (!v) return reply;
    if (!v.admin) return page(reply, 404, 'Not found', notFoundPage(), v);
    const [binds, counts, cluster] = await Promise.all([
      src.binds(),
      src.spool.countsByState(),
      src.cluster ? src.cluster() : undefined,
    ]);
    return page(reply, 200, 'Status', statusPage(src.node, binds, counts, cluster), v);
  });

  async function ownRows(queueId: string, v: Viewer): Promise<SmsRow[]> {
    const rows = await src.spool.byQueueId(queueId);
    return v.admin ? rows : rows.filter((r) => r.smtpUser === v.username);
  }

  // ---- JSON API ----
  const apiViewer = async (req: FastifyRequest, reply: FastifyReply): Promise<Viewer | undefined> => {
    const header = req.headers.authorization;
    const deny = (status: number, error: string) => {
      void reply.status(status).header('www-authenticate', 'Basic realm="smtp2sms", charset="UTF-8"').send({ error });
      return undefined;
    };
    if (!header)
      return deny(401, 'authentication required: HTTP Basic (an smtp.auth.users account) or Bearer <user>:<token>');
    if (!cleartextOk(req))
      return deny(403, 'credentials over plain HTTP are accepted from loopback only (or smtp.auth.allow_cleartext)');
    const viewer = await accounts.header(header);
    if (!viewer) {
      const ip = req.socket.remoteAddress ?? '';
      await sleep(accounts.throttle.fail(ip));
      return deny(401, 'wrong credentials');
    }
    return viewer;
  };
  app.get<{ Querystring: Query }>('/api/messages', async (req, reply) => {
    const v = await apiViewer(req, reply);
    if (!v) return reply;
    const filter = filterFrom(req.query, scopeOf(v));
    const rows = await src.spool.listMessages({ ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    return {
      messages: page.map((r) => messageJson(r, v.admin)),
      next: rows.length > filter.limit ? cursorOf(page.at(-1)!) : null,
    };
  });
  app.get<{ Params: { queueId: string } }>('/api/messages/:queueId', async (req, reply) => {
    const v = await apiViewer(req, reply);
    if (!v) return reply;
    const rows = await ownRows(req.params.queueId, v);
    if (rows.length === 0) return reply.status(404).send({ error: 'no such message among yours' });
    return { queueId: req.params.queueId, recipients: rows.map((r) => messageJson(r, v.admin)) };
  });

  app.setNotFoundHandler((req, reply) =>
    req.url.startsWith('/api/')
      ? reply.status(404).send({ error: 'not found' })
      : page(reply, 404, 'Not found', errorPage('No such page.'), signedIn(req)),
  );

  await app.listen({ host: config.web.host, port: config.web.port });
  return {
    port: () => (app.server.address() as AddressInfo).port,
    reload(users) {
      accounts.replace(users as WebUser[]);
      return store.endWhere((s) => {
        const { signIn } = s as { signIn?: SignIn };
        return signIn !== undefined && accounts.viewer(signIn) === undefined;
      });
    },
    close: async () => {
      store.close();
      await app.close();
    },
  };
}

const NOTICES: Record<string, string> = {
  cancelled: 'Cancelled: this SMS will never be sent.',
  'too-late': 'Too late to cancel: the SMS had already left the queue.',
};
