/**
 * Settings every node of a cluster must share: the provider's rules (two nodes with different windows would let
 * through what one refuses), the SMSC account's limits (its binds, window and throughput are the cluster's) and the
 * cluster's timings. The first node of a cluster records them in the database (cluster_settings); a node started
 * with other values refuses to start, naming each key and both values. "First" means no other node is live: then the
 * starting node's values are the cluster's from now on (how an operator changes them: restart every node).
 */
import pg from 'pg';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../ops/log.js';
import { poolConfig, SpoolStartRefused } from './connect.js';
import { LOCK_SPACE } from './session-lock.js';

/** The keys that must agree, with this config's values (as JSON text). */
export function sharedSettings(config: Config): Map<string, string> {
  const out = new Map<string, string>();
  const put = (prefix: string, o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) out.set(`${prefix}.${k}`, JSON.stringify(v));
  };
  put('policy', config.policy as unknown as Record<string, unknown>);
  put('cluster', config.cluster as unknown as Record<string, unknown>);
  const { url, system_id, binds, bind_mode, window, throughput, max_attempts } = config.smpp;
  put('smpp', { url, system_id, binds, bind_mode, window, throughput, max_attempts });
  return out;
}

export interface SettingMismatch {
  key: string;
  mine: string;
  recorded: string;
  by: string;
}

/** Pure: where this node's values differ from the recorded ones (a key recorded by no one is not a mismatch). */
export function mismatches(
  mine: ReadonlyMap<string, string>,
  recorded: ReadonlyMap<string, { value: string; node: string }>,
): SettingMismatch[] {
  const out: SettingMismatch[] = [];
  for (const [key, value] of mine) {
    const r = recorded.get(key);
    if (r && r.value !== value) out.push({ key, mine: value, recorded: r.value, by: r.node });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

export function describeMismatches(ms: readonly SettingMismatch[]): string {
  return ms
    .map((m) => `${m.key}: this node has ${m.mine}, the cluster has ${m.recorded} (set by node ${m.by})`)
    .join('; ');
}

/**
 * Record or check this node's shared settings, in one transaction under an advisory lock (two first nodes
 * starting together agree too). `othersLive`: another node is running now. Returns the mismatches (empty: fine).
 */
export async function agreeOnSettings(
  client: pg.ClientBase,
  config: Config,
  othersLive: boolean,
): Promise<SettingMismatch[]> {
  const mine = sharedSettings(config);
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('smtp2sms cluster settings'))`);
    if (!othersLive) {
      await client.query('DELETE FROM cluster_settings');
      for (const [key, value] of mine) {
        await client.query('INSERT INTO cluster_settings (key, value, node) VALUES ($1, $2, $3)', [
          key,
          value,
          config.node.id,
        ]);
      }
      await client.query('COMMIT');
      return [];
    }
    const r = await client.query<{ key: string; value: string; node: string }>(
      'SELECT key, value, node FROM cluster_settings',
    );
    const recorded = new Map(r.rows.map((x) => [x.key, { value: x.value, node: x.node }]));
    const found = mismatches(mine, recorded);
    // Keys a newer smtp2sms added: recorded by the first node that knows them.
    for (const [key, value] of mine) {
      if (!recorded.has(key)) {
        await client.query(
          'INSERT INTO cluster_settings (key, value, node) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [key, value, config.node.id],
        );
      }
    }
    await client.query('COMMIT');
    return found;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Other nodes live now: holders of a node-id lock (session-lock.ts) other than this node's own. */
async function othersLive(client: pg.ClientBase, nodeId: string): Promise<boolean> {
  const r = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = $1::int4::oid
        AND a.application_name <> $2`,
    [LOCK_SPACE.node, `smtp2sms ${nodeId} node`.slice(0, 63)],
  );
  return Number(r.rows[0]?.n ?? 0) > 0;
}

/** At start, once this node holds its id: record the shared settings, or refuse (exit 2) when they differ. */
export async function enforceSharedSettings(config: Config, log: Logger): Promise<void> {
  const { max: _max, idleTimeoutMillis: _idle, ...c } = poolConfig(config.spool, 'smtp2sms-start');
  const client = new pg.Client(c);
  await client.connect();
  try {
    const live = await othersLive(client, config.node.id);
    const found = await agreeOnSettings(client, config, live);
    if (found.length > 0) {
      throw new SpoolStartRefused(
        `cluster settings: this node's differ from the running cluster's, which every node must share: ${describeMismatches(found)}`,
      );
    }
    if (!live) log.info('first node of the cluster: its policy, smpp limits and cluster timings are recorded');
  } finally {
    await client.end().catch(() => undefined);
  }
}
