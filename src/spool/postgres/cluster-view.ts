/**
 * Which node holds the SMPP binds, and which nodes are live, as the database sees it: each live node holds its
 * node-id lock (a session advisory lock, postgres/session-lock.ts) on a connection named `smtp2sms <node> node`
 * (connect.ts); the holder is the binds lease's while it has not expired by the database's clock (bind-lease.ts).
 * For the admins' status page: read-only.
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

export async function clusterView(pool: pg.Pool, bindsLease = 'smpp-binds'): Promise<ClusterView> {
  // Two-key advisory locks show as classid = key 1, objid = key 2 (as oid: negative hashtext values wrap),
  // objsubid = 2.
  const res = await pool.query<{ app: string }>(
    `SELECT a.application_name AS app
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = $1::int4::oid`,
    [LOCK_SPACE.node],
  );
  const lease = await pool.query<{ holder: string }>(
    'SELECT holder FROM cluster_lease WHERE name = $1 AND holder IS NOT NULL AND expires_at > now()',
    [bindsLease],
  );
  const nodes = res.rows.flatMap((r) => [nodeOfApplication(r.app, 'node') ?? r.app]);
  return { holder: lease.rows[0]?.holder ?? null, nodes: [...new Set(nodes)].sort() };
}
