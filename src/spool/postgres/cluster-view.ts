/**
 * Which node holds the SMPP binds, and which nodes are live, as the database sees it: each live node holds its
 * node-id lock and the holder the binds lock (session advisory locks, postgres/session-lock.ts), on connections
 * named `smtp2sms <node> node` and `smtp2sms <node> binds` (connect.ts). For the admins' status page: read-only,
 * and only as fresh as the server's view (a holder whose connection died silently shows until the server drops it).
 */
import type pg from 'pg';
import { LOCK_SPACE } from './session-lock.js';

export interface ClusterView {
  /** The node holding the binds, or null when none does right now (a failover in progress). */
  holder: string | null;
  /** Live nodes (holding their node-id lock), sorted. */
  nodes: string[];
}

/** The node id out of a lock connection's application_name ("smtp2sms <id> <role>"). */
export function nodeOfApplication(app: string, role: 'node' | 'binds'): string | undefined {
  const prefix = 'smtp2sms ';
  const suffix = ` ${role}`;
  return app.startsWith(prefix) && app.endsWith(suffix) ? app.slice(prefix.length, -suffix.length) : undefined;
}

export async function clusterView(pool: pg.Pool, bindsLockName = 'smpp-binds'): Promise<ClusterView> {
  // Two-key advisory locks show as classid = key 1, objid = key 2 (as oid: negative hashtext values wrap),
  // objsubid = 2.
  const res = await pool.query<{ app: string; binds: boolean }>(
    `SELECT a.application_name AS app, l.classid = $2::int4::oid AS binds
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
        AND (l.classid = $1::int4::oid OR (l.classid = $2::int4::oid AND l.objid = hashtext($3)::oid))`,
    [LOCK_SPACE.node, LOCK_SPACE.binds, bindsLockName],
  );
  const holder = res.rows.flatMap((r) => (r.binds ? [nodeOfApplication(r.app, 'binds') ?? r.app] : []))[0] ?? null;
  const nodes = res.rows.flatMap((r) => (r.binds ? [] : [nodeOfApplication(r.app, 'node') ?? r.app]));
  return { holder, nodes: [...new Set(nodes)].sort() };
}
