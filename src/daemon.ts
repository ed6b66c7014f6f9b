/**
 * The one place that wires the stages: SMTP listener → intake (mail → SMS) → spool. Everything else is a module
 * with its inputs passed in.
 */
import type { Config } from './config/schema.js';
import type { Logger } from './ops/log.js';
import { createRefCounter } from './sms/segment.js';
import { acceptMail } from './smtp/intake.js';
import { startSmtp, type SmtpListener } from './smtp/server.js';
import { SqliteSpool } from './spool/sqlite.js';

export interface Daemon {
  smtp: SmtpListener;
  spool: SqliteSpool;
  stop(): Promise<void>;
}

/** How long a cached queue depth may be used for back-pressure (a COUNT per mail would cost more than the mail). */
const DEPTH_CACHE_MS = 1000;

export async function startDaemon(config: Config, log: Logger, now: () => number = Date.now): Promise<Daemon> {
  const spool = new SqliteSpool(config.spool.path, config.spool.busy_timeout_ms);
  const nextRef = createRefCounter();
  let depth = { value: spool.pendingCount(), at: now() };
  const queueDepth = () => {
    if (now() - depth.at > DEPTH_CACHE_MS) depth = { value: spool.pendingCount(), at: now() };
    return depth.value;
  };

  const smtp = await startSmtp({
    config,
    log,
    accept: (sub, slog) => acceptMail(sub, { config, spool, now, nextRef, log: slog }),
    admission: () =>
      queueDepth() >= config.spool.max_queued
        ? { code: 452, enhanced: '4.3.1', text: `Queue full (${config.spool.max_queued} messages waiting for the SMSC); try again later` }
        : undefined,
  });
  log.info({ ports: smtp.ports(), host: config.smtp.host, lmtp: config.smtp.lmtp, spool: config.spool.path }, 'smtp2sms listening');

  return {
    smtp,
    spool,
    async stop() {
      await smtp.close();
      spool.close();
    },
  };
}
