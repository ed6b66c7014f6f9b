/** The signed-in pages: the message list, one message (and cancelling it), the daily counts, the admin's status. */
import { DAY_MS } from '../../spool/message-query.js';
import { scopeOf } from '../access.js';
import type { WebContext } from '../context.js';
import { dailyPage, listPage, messagePage, notFoundPage, statusPage } from '../pages.js';
import { cursorOf, filterFrom, type Query } from '../query.js';

const NOTICES: Record<string, string> = {
  cancelled: 'Cancelled: this SMS will never be sent.',
  'too-late': 'Too late to cancel: the SMS had already left the queue.',
};

export function pageRoutes(c: WebContext): void {
  const { app, src, page, now } = c;
  app.get<{ Querystring: Query }>('/', async (req, reply) => {
    const v = c.viewerOr(req, reply);
    if (!v) return reply;
    const filter = filterFrom(req.query, scopeOf(v));
    const rows = await src.spool.listMessages({ ...filter, limit: filter.limit + 1 });
    const next = rows.length > filter.limit ? cursorOf(rows[filter.limit - 1]!) : undefined;
    return page(reply, 200, 'Messages', listPage(rows.slice(0, filter.limit), req.query, next, v), v);
  });
  app.get<{ Params: { queueId: string }; Querystring: { done?: string } }>('/messages/:queueId', async (req, reply) => {
    const v = c.viewerOr(req, reply);
    if (!v) return reply;
    const rows = await c.ownRows(req.params.queueId, v);
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
      const v = c.viewerOr(req, reply);
      if (!v) return reply;
      const id = Number(req.body?.id);
      const row = (await c.ownRows(req.params.queueId, v)).find((r) => r.id === id);
      if (!row) return page(reply, 404, 'Not found', notFoundPage(), v);
      const outcome = await src.spool.cancelQueued(id, scopeOf(v), `cancelled by ${v.username} on the web page`, now());
      c.log.info(
        { queueId: row.queueId, recipient: row.recipient, by: v.username, outcome: outcome.kind },
        'cancel asked',
      );
      const done = outcome.kind === 'cancelled' ? 'cancelled' : 'too-late';
      return reply.redirect(`/messages/${encodeURIComponent(req.params.queueId)}?done=${done}`, 303);
    },
  );
  app.get('/daily', async (req, reply) => {
    const v = c.viewerOr(req, reply);
    if (!v) return reply;
    const counts = await src.spool.dailyCounts(scopeOf(v), Math.floor(now() / DAY_MS) * DAY_MS - 29 * DAY_MS);
    return page(reply, 200, 'Daily counts', dailyPage(counts, now()), v);
  });
  app.get('/status', async (req, reply) => {
    const v = c.viewerOr(req, reply);
    if (!v) return reply;
    if (!v.admin) return page(reply, 404, 'Not found', notFoundPage(), v);
    const [binds, counts, cluster] = await Promise.all([
      src.binds(),
      src.spool.countsByState(),
      src.cluster ? src.cluster() : undefined,
    ]);
    return page(reply, 200, 'Status', statusPage(src.node, binds, counts, cluster), v);
  });
}
