/** The JSON API: HTTP Basic (an smtp.auth.users account) or Bearer <user>:<token>, scoped like the pages. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { CODING_NAMES } from '../../sms/encode.js';
import type { SmsRow } from '../../spool/types.js';
import { scopeOf, type Viewer } from '../access.js';
import type { WebContext } from '../context.js';
import { explainReason } from '../explain.js';
import { cursorOf, filterFrom, type Query } from '../query.js';

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

export function apiRoutes(c: WebContext): void {
  const { app, accounts, src } = c;
  const apiViewer = async (req: FastifyRequest, reply: FastifyReply): Promise<Viewer | undefined> => {
    const header = req.headers.authorization;
    const deny = (status: number, error: string) => {
      void reply.status(status).header('www-authenticate', 'Basic realm="smtp2sms", charset="UTF-8"').send({ error });
      return undefined;
    };
    if (!header)
      return deny(401, 'authentication required: HTTP Basic (an smtp.auth.users account) or Bearer <user>:<token>');
    if (!c.cleartextOk(req))
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
    const rows = await c.ownRows(req.params.queueId, v);
    if (rows.length === 0) return reply.status(404).send({ error: 'no such message among yours' });
    return { queueId: req.params.queueId, recipients: rows.map((r) => messageJson(r, v.admin)) };
  });
}
