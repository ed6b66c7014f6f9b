/**
 * What every route group of the web page and API shares: the accounts, the spool's reads, the clock, and the few
 * helpers that decide who is asking (a signed-in session, or the API's Basic/Bearer header) and how a page is sent.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { isLoopback } from '../config/networks.js';
import type { Logger } from '../ops/log.js';
import type { BindHealth, ClusterStatus } from '../ops/health.js';
import { cleartextAuthAllowed } from '../smtp/auth.js';
import type { Spool } from '../spool/spool.js';
import type { SmsRow } from '../spool/types.js';
import type { Accounts, SignIn, Viewer } from './access.js';
import { layout, type signInPage } from './pages.js';

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

type Body = ReturnType<typeof signInPage>;

export interface WebContext {
  app: FastifyInstance;
  config: Config;
  accounts: Accounts;
  src: WebSources;
  now: () => number;
  log: Logger;
  /** Passwords cross the wire in clear without TLS: the SMTP AUTH rule (loopback, or smtp.auth.allow_cleartext). */
  cleartextOk(req: FastifyRequest): boolean;
  /** A whole HTML page in the layout, with a CSRF token for its forms when someone is signed in. */
  page(reply: FastifyReply, status: number, title: string, body: Body, v?: Viewer): FastifyReply;
  /** Who this session is signed in as now; undefined when not signed in, or when a reload ended it. */
  signedIn(req: FastifyRequest): Viewer | undefined;
  /** The viewer, or a redirect to the sign-in page (then undefined). */
  viewerOr(req: FastifyRequest, reply: FastifyReply): Viewer | undefined;
  /** A message's rows that this viewer may see (an admin sees every user's). */
  ownRows(queueId: string, v: Viewer): Promise<SmsRow[]>;
}

export function webContext(
  app: FastifyInstance,
  parts: Pick<WebContext, 'config' | 'accounts' | 'src' | 'now' | 'log'>,
): WebContext {
  const { config, accounts, src } = parts;
  const signedIn = (req: FastifyRequest): Viewer | undefined => accounts.viewer(req.session?.signIn);
  return {
    app,
    ...parts,
    cleartextOk: (req) =>
      cleartextAuthAllowed(
        config.web.tls,
        isLoopback(req.socket.remoteAddress ?? ''),
        config.smtp.auth.allow_cleartext,
      ),
    page: (reply, status, title, body, v) =>
      reply
        .status(status)
        .type('text/html; charset=utf-8')
        .send(layout(title, v, body, v ? reply.generateCsrf() : undefined)),
    signedIn,
    viewerOr(req, reply) {
      const v = signedIn(req);
      if (!v) void reply.redirect('/signin', 303);
      return v;
    },
    async ownRows(queueId, v) {
      const rows = await src.spool.byQueueId(queueId);
      return v.admin ? rows : rows.filter((r) => r.smtpUser === v.username);
    },
  };
}
