/**
 * The senders' web page and JSON API on web.host:web.port (see README "Web page and API"). Fastify with
 * @fastify/session (signed cookie, HttpOnly, SameSite=Strict, Secure under TLS), @fastify/csrf-protection on every
 * form that changes something, @fastify/formbody and @fastify/static (the page's only script is /static/app.js: the
 * CSP forbids inline script). Every read is scoped in the spool's query itself (spool/message-query.ts), so no
 * id, filter or API call reaches another user's rows. This module sets up the server (plugins, headers, errors);
 * each route group is a module of routes/: sign-in, the pages, the API.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import { Accounts, type SignIn, type WebUser } from './access.js';
import { webContext, type WebSources } from './context.js';
import { errorPage } from './pages.js';
import { QueryError } from './query.js';
import { apiRoutes } from './routes/api.js';
import { pageRoutes } from './routes/pages.js';
import { signInRoutes } from './routes/sign-in.js';
import { ExpiringSessionStore } from './sessions.js';

export type { WebSources };

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

  const c = webContext(app, { config, accounts, src, now, log: wlog });

  app.setErrorHandler((err, req, reply) => {
    const status = err instanceof QueryError ? 400 : ((err as { statusCode?: number }).statusCode ?? 500);
    if (status >= 500) wlog.error({ err, url: req.url }, 'web request failed');
    const message = status >= 500 ? 'internal error (see the daemon log)' : (err as Error).message;
    if (req.url.startsWith('/api/')) return reply.status(status).send({ error: message });
    return c.page(reply, status, 'Error', errorPage(message), c.signedIn(req));
  });

  signInRoutes(c);
  pageRoutes(c);
  apiRoutes(c);

  app.setNotFoundHandler((req, reply) =>
    req.url.startsWith('/api/')
      ? reply.status(404).send({ error: 'not found' })
      : c.page(reply, 404, 'Not found', errorPage('No such page.'), c.signedIn(req)),
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
