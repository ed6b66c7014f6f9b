/**
 * The operator's endpoint on metrics.host:metrics.port: /metrics (Prometheus text of both threads), /healthz
 * (200 when this node can take mail and see it through, see healthy; the JSON body says why not) and /readyz
 * (200 while SMTP is listening and the daemon is not stopping).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Health } from './health.js';

export interface OpsSources {
  registry: Registry;
  workerMetrics(): Promise<string>;
  health(): Promise<Health>;
  ready(): boolean;
}

export interface OpsServer {
  port(): number;
  close(): Promise<void>;
}

/**
 * Can this node take mail and see it through? The spool takes writes and its clock is within
 * cluster.max_clock_skew_s; a node that relays (alone, or the cluster's bind holder) also needs a bind up. A
 * standby's binds are reported, not required: a load balancer keeps sending it mail (alerting on "no node holds the
 * binds" is the metrics' job: sum of smtp2sms_cluster_bind_holder over the nodes).
 */
export function healthy(h: Health): boolean {
  if (!h.spoolWritable || h.clockProblem) return false;
  return h.role === 'standby' || h.binds.some((b) => b.up);
}

export async function startOpsServer(host: string, port: number, src: OpsSources): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    (async () => {
      if (path === '/metrics') {
        const [main, worker] = await Promise.all([src.registry.metrics(), src.workerMetrics()]);
        return send(200, src.registry.contentType, `${main}\n${worker}`);
      }
      if (path === '/healthz') {
        const h = await src.health();
        const ok = healthy(h);
        return send(ok ? 200 : 503, 'application/json', JSON.stringify({ ok, ...h }));
      }
      if (path === '/readyz') {
        const ready = src.ready();
        return send(ready ? 200 : 503, 'application/json', JSON.stringify({ ready }));
      }
      send(404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
    })().catch((err: unknown) => send(500, 'text/plain', `error: ${(err as Error).message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: () => (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
