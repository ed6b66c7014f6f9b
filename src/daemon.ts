/**
 * The one place that wires the stages: SMTP listener → intake (mail → SMS) → spool → relay → SMPP binds, and
 * receipts back into the spool. Everything else is a module with its inputs passed in.
 */
import { readFileSync } from 'node:fs';
import type { Config } from './config/schema.js';
import type { Logger } from './ops/log.js';
import { SmscSimulator } from './simulator/smsc.js';
import { createRefCounter } from './sms/segment.js';
import { deliverHandler } from './smpp/deliver.js';
import { Relay } from './smpp/relay.js';
import { SmppBind, type BindMode } from './smpp/session.js';
import { RateLimiter } from './smpp/throttle.js';
import { acceptMail } from './smtp/intake.js';
import { startSmtp, type SmtpListener } from './smtp/server.js';
import { ThreadSpool } from './spool/thread.js';

export interface Daemon {
  smtp: SmtpListener;
  spool: ThreadSpool;
  binds: SmppBind[];
  relay: Relay;
  simulator: SmscSimulator | undefined;
  stop(): Promise<void>;
}

/** How often the queue depth used for back-pressure is refreshed. */
const DEPTH_CACHE_MS = 1000;
const DAY_MS = 86_400_000;

function bindModes(mode: Config['smpp']['bind_mode']): BindMode[] {
  return mode === 'transceiver' ? ['transceiver'] : ['transmitter', 'receiver'];
}

export async function startDaemon(config: Config, log: Logger, now: () => number = Date.now): Promise<Daemon> {
  const spool = await ThreadSpool.start(config.spool.path, config.spool.busy_timeout_ms);
  const requeued = await spool.requeueSending(now());
  if (requeued > 0) log.warn({ requeued }, 'messages caught mid-send by the last stop go out again (at-least-once)');

  let simulator: SmscSimulator | undefined;
  if (config.simulator.enabled) {
    const simLog = log.child({ component: 'simulator' });
    simulator = new SmscSimulator({}, (line) => simLog.info(line));
    const port = await simulator.listen(config.simulator.port, config.simulator.host);
    simLog.info({ port }, 'embedded SMSC simulator listening (demo mode)');
  }

  const nextRef = createRefCounter();
  const smpp = config.smpp;
  const onDeliver = deliverHandler(spool, smpp.system_type, log.child({ component: 'receipts' }));
  const tls = {
    ...(smpp.tls.ca ? { ca: readFileSync(smpp.tls.ca) } : {}),
    rejectUnauthorized: smpp.tls.reject_unauthorized,
    ...(smpp.tls.servername ? { servername: smpp.tls.servername } : {}),
  };
  const binds: SmppBind[] = [];
  for (let i = 0; i < smpp.binds; i++) {
    for (const mode of bindModes(smpp.bind_mode)) {
      binds.push(
        new SmppBind({
          name: `${i + 1}`,
          url: smpp.url,
          systemId: smpp.system_id,
          password: smpp.password,
          systemType: smpp.system_type,
          mode,
          enquireLinkMs: smpp.enquire_link_s * 1000,
          responseTimeoutMs: smpp.response_timeout_s * 1000,
          window: smpp.window,
          reconnectMinMs: smpp.reconnect_min_s * 1000,
          reconnectMaxMs: smpp.reconnect_max_s * 1000,
          bindRefusedRetryMs: smpp.bind_refused_retry_s * 1000,
          tls,
          log,
          onDeliver,
        }),
      );
    }
  }
  const relay = new Relay(
    spool,
    binds,
    new RateLimiter(smpp.throughput, now),
    {
      registeredDelivery: smpp.registered_delivery,
      maxAttempts: smpp.max_attempts,
      maxAgeMs: config.spool.max_age_s * 1000,
      retryBaseMs: smpp.retry_base_s * 1000,
      retryMaxMs: smpp.retry_max_s * 1000,
      statusOverrides: smpp.status_overrides,
      compositeWindowMs: config.policy.composite_window_s * 1000,
      idleMs: 500,
    },
    log.child({ component: 'relay' }),
    nextRef,
    {},
    now,
  );
  for (const b of binds) b.start();
  relay.start();

  // Back-pressure reads a depth refreshed in the background: a COUNT per mail would cost more than the mail.
  let depth = await spool.pendingCount();
  const depthTimer = setInterval(() => {
    spool.pendingCount().then(
      (n) => (depth = n),
      () => undefined,
    );
  }, DEPTH_CACHE_MS);
  depthTimer.unref();
  const queueDepth = () => depth;

  const smtp = await startSmtp({
    config,
    log,
    accept: async (sub, slog) => {
      const result = await acceptMail(sub, { config, spool, now, nextRef, log: slog });
      if (result.queueId) relay.kick();
      return result;
    },
    admission: () =>
      queueDepth() >= config.spool.max_queued
        ? { code: 452, enhanced: '4.3.1', text: `Queue full (${config.spool.max_queued} messages waiting for the SMSC); try again later` }
        : undefined,
  });
  log.info({ ports: smtp.ports(), host: config.smtp.host, lmtp: config.smtp.lmtp, spool: config.spool.path, smsc: smpp.url }, 'smtp2sms listening');

  // Often enough that nothing outlives spool.max_age_s by more than a quarter of it; at most every 30 s.
  const maintenanceMs = Math.min(30_000, Math.max(250, config.spool.max_age_s * 250));
  const maintenance = setInterval(() => {
    const t = now();
    (async () => {
      const expired = await spool.expireQueued(t - config.spool.max_age_s * 1000, t, `not sent within spool.max_age_s (${config.spool.max_age_s} s)`);
      if (expired > 0) log.warn({ expired }, 'queued messages expired');
      if (config.spool.keep_days > 0) await spool.prune(t - config.spool.keep_days * DAY_MS);
    })().catch((err: unknown) => log.error({ err }, 'spool maintenance failed'));
  }, maintenanceMs);
  maintenance.unref();

  return {
    smtp,
    spool,
    binds,
    relay,
    simulator,
    async stop() {
      clearInterval(maintenance);
      clearInterval(depthTimer);
      await smtp.close();
      const timeout = smpp.shutdown_timeout_s * 1000;
      await relay.stop(timeout);
      await Promise.all(binds.map((b) => b.stop(timeout)));
      await simulator?.close();
      await spool.close();
    },
  };
}
