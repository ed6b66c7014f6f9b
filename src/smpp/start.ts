/**
 * Wiring of the delivery side: SMPP binds, the relay and receipt handling over a Spool. It runs on the work
 * thread (worker/entry.ts) next to the spool it drives, so SMPP work and commits never compete with SMTP.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import { createRefCounter } from '../sms/segment.js';
import type { Spool } from '../spool/spool.js';
import { replySettings } from '../outbox/replies.js';
import { deliverHandler, type DeliverEvents } from './deliver.js';
import { Relay, type RelayEvents } from './relay.js';
import { SmppBind, type BindMode } from './session.js';
import { RateLimiter } from './throttle.js';

export interface Delivery {
  relay: Relay;
  binds: SmppBind[];
  stop(timeoutMs: number): Promise<void>;
  /** Fenced: every bind closed at once (nothing more reaches the SMSC), then the relay stops in its own time. */
  abort(): Promise<void>;
}

function bindModes(mode: Config['smpp']['bind_mode']): BindMode[] {
  return mode === 'transceiver' ? ['transceiver'] : ['transmitter', 'receiver'];
}

export interface DeliveryEvents {
  relay?: RelayEvents;
  deliver?: DeliverEvents;
}

export function startDelivery(
  config: Config,
  log: Logger,
  spool: Spool,
  events: DeliveryEvents = {},
  now: () => number = Date.now,
  /** May this node submit now (a cluster node: it still holds the binds lease)? Asked before every submit. */
  mayAct: () => boolean = () => true,
): Delivery {
  const smpp = config.smpp;
  const replyIntake = deliverHandler(
    spool,
    smpp.system_type,
    log.child({ component: 'receipts' }),
    events.deliver ?? {},
    now,
    config.replies.reassembly_timeout_s * 1000,
    replySettings(config),
    // A submit_sm unanswered this long counts as lost; the outcome's write (lazy on SQLite) gets a few seconds more.
    smpp.response_timeout_s * 1000 + 5000,
  );
  const onDeliver = replyIntake.onDeliver;
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
  const relay = new Relay({
    spool,
    binds,
    limiter: new RateLimiter(smpp.throughput, now),
    options: {
      registeredDelivery: smpp.registered_delivery,
      maxAttempts: smpp.max_attempts,
      maxAgeMs: config.spool.max_age_s * 1000,
      retryBaseMs: smpp.retry_base_s * 1000,
      retryMaxMs: smpp.retry_max_s * 1000,
      statusOverrides: smpp.status_overrides,
      compositeWindowMs: config.policy.composite_window_s * 1000,
      idleMs: 500,
    },
    log: log.child({ component: 'relay' }),
    nextRef: createRefCounter(),
    events: events.relay ?? {},
    now,
    mayAct,
  });

  for (const b of binds) b.start();
  relay.start();
  return {
    relay,
    binds,
    async stop(timeoutMs) {
      replyIntake.stop();
      await relay.stop(timeoutMs);
      await Promise.all(binds.map((b) => b.stop(timeoutMs)));
    },
    async abort() {
      for (const b of binds) b.abort();
      replyIntake.stop();
      await relay.stop(0);
    },
  };
}
