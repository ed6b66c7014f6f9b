/**
 * The one place that wires the stages. Two threads: the main thread speaks SMTP; the work thread
 * (worker/entry.ts) turns mail into SMS (intake), owns the spool and runs relay, SMPP binds and receipts (wired
 * by smpp/start.ts), so parsing, commits and SMPP never hold up SMTP replies. Everything else is a module with
 * its inputs passed in.
 */
import type { Config } from './config/schema.js';
import { startOpsServer, type OpsServer } from './ops/http.js';
import { checkListeners, listenersOf, listening } from './ops/listeners.js';
import type { Logger } from './ops/log.js';
import { smtpMetrics } from './ops/metrics.js';
import { RecentAcceptances } from './policy/recent.js';
import { floodRefused, floodReply, rulesFrom } from './policy/rules.js';
import { replyFromStdin } from './simulator/input.js';
import { SmscSimulator } from './simulator/smsc.js';
import type { SpoolLock } from './spool/lock.js';
import { claimSpool, sharedByNodes, spoolShown } from './spool/open.js';
import { replies } from './replies.js';
import { startSmtp, type SmtpListener } from './smtp/server.js';
import { startWeb, type WebServer } from './web/server.js';
import { WorkThread } from './worker/client.js';

export interface Daemon {
  smtp: SmtpListener;
  web: WebServer | undefined;
  ops: OpsServer | undefined;
  spool: WorkThread;
  simulator: SmscSimulator | undefined;
  /**
   * SIGHUP: apply `next`'s users, domains and allow_networks to every listener that checks them (SMTP; the web
   * page's sign-in and sessions, the API's Basic and Bearer). What it did, for the reload's log line.
   */
  reload(next: Config): ReloadOutcome;
  stop(): Promise<void>;
}

export interface ReloadOutcome {
  /** Web sessions ended (their user removed, or their password changed); undefined with the web page off. */
  webSessionsEnded: number | undefined;
}

export interface DaemonOptions {
  /** The work thread died: nothing more can be stored or delivered (serve exits so systemd restarts it). */
  onFatal?: (reason: string) => void;
  /** Human-readable logs on the work thread too (serve --log-pretty). */
  logPretty?: boolean;
  now?: () => number;
  /** Ends a start still waiting for the PostgreSQL spool to answer (a stop signal during start-up). */
  signal?: AbortSignal;
}

/** How often the queue depth used for back-pressure is refreshed. */
const DEPTH_REFRESH_MS = 1000;
/** How often this thread reads the clock offset the work thread measured. */
const CLOCK_REFRESH_MS = 2000;
const DAY_MS = 86_400_000;

export async function startDaemon(config: Config, baseLog: Logger, opts: DaemonOptions = {}): Promise<Daemon> {
  const now = opts.now ?? Date.now;
  const log = baseLog.child({ node: config.node.id });
  // Every port first: one in use ends the start naming its key, before the spool is opened or waited for.
  await checkListeners(config);
  // Before anything else: the file lock, or the cluster's checks (spool/open.ts).
  const lock = await claimSpool(config, log, opts.signal);
  try {
    return await startLocked(config, log, opts, now, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Starts everything; what had started is closed again when a later part fails (a listen, the spool). */
async function startLocked(
  config: Config,
  log: Logger,
  opts: DaemonOptions,
  now: () => number,
  lock: SpoolLock,
): Promise<Daemon> {
  const started: Array<() => unknown> = [];
  try {
    return await startParts(config, log, opts, now, lock, started);
  } catch (err) {
    for (const close of started.reverse()) await Promise.resolve(close()).catch(() => undefined);
    throw err;
  }
}

async function startParts(
  config: Config,
  log: Logger,
  opts: DaemonOptions,
  now: () => number,
  lock: SpoolLock,
  started: Array<() => unknown>,
): Promise<Daemon> {
  // A listen that fails names its key; nothing says "listening" until every listener is up, SMTP last.
  const listeners = listenersOf(config);
  const keyed = (prefix: string) => listeners.filter((l) => l.key.startsWith(prefix));
  let simulator: SmscSimulator | undefined;
  let simPort = 0;
  const simLog = log.child({ component: 'simulator' });
  if (config.simulator.enabled) {
    const { auto_reply: text, auto_reply_delay_s: delay } = config.simulator;
    const sim = new SmscSimulator(text ? { autoReply: { text, delayMs: delay * 1000 } } : {}, (line) =>
      simLog.info(line),
    );
    started.push(() => sim.close());
    simPort = await listening(keyed('simulator.'), () => sim.listen(config.simulator.port, config.simulator.host));
    simulator = sim;
  }

  const spool = await WorkThread.start({
    path: config.spool.path,
    busyTimeoutMs: config.spool.busy_timeout_ms,
    config,
    logLevel: log.level,
    logPretty: opts.logPretty ?? false,
  });

  started.push(() => spool.close());
  spool.onDeath = (reason) => {
    log.fatal({ reason }, 'the work thread died: no mail can be stored or delivered');
    opts.onFatal?.(reason);
  };

  // Back-pressure reads a depth refreshed in the background: a COUNT per mail would cost more than the mail.
  let depth = await spool.pendingCount();
  const depthTimer = setInterval(() => {
    spool.pendingCount().then(
      (n) => (depth = n),
      () => undefined,
    );
  }, DEPTH_REFRESH_MS);
  depthTimer.unref();
  started.push(() => clearInterval(depthTimer));

  // A cluster node judges time by the database's clock (the work thread measures the offset, db-clock.ts); one
  // too far off takes no mail.
  const clockState: { offsetMs: number; problem?: string } = await spool.clock();
  const clockTimer = setInterval(() => {
    spool.clock().then(
      (c) => Object.assign(clockState, { offsetMs: c.offsetMs, problem: c.problem }),
      () => undefined,
    );
  }, CLOCK_REFRESH_MS);
  clockTimer.unref();
  started.push(() => clearInterval(clockTimer));
  const clockNow = () => now() + clockState.offsetMs;

  const rules = rulesFrom(config.policy);
  const floodOn = rules.floodMax > 0 && rules.floodGapMs > 0;
  const recent = new RecentAcceptances(rules.floodGapMs, clockNow);
  if (floodOn) recent.load(await spool.acceptedSince(clockNow() - rules.floodGapMs));
  const metrics = smtpMetrics();
  // A session's log fields go with each of its mails to the work thread; pino's bindings() parses them back from
  // JSON on every call (~2 µs a mail), so each session logger's are read once.
  const bindingsOf = new WeakMap<Logger, Record<string, unknown>>();
  const bindings = (slog: Logger) => {
    let b = bindingsOf.get(slog);
    if (!b) {
      b = slog.bindings();
      bindingsOf.set(slog, b);
    }
    return b;
  };
  let stopping = false;
  let accepting = false;
  const ops =
    config.metrics.port === 0
      ? undefined
      : await listening(keyed('metrics.'), () =>
          startOpsServer(config.metrics.host, config.metrics.port, {
            registry: metrics.registry,
            workerMetrics: () => spool.metrics(),
            health: () => spool.health(),
            ready: () => accepting && !stopping,
          }),
        );
  if (ops) started.push(() => ops.close());
  const web: WebServer | undefined =
    config.web.port === 0
      ? undefined
      : await listening(keyed('web.'), () =>
          startWeb(config, log, {
            spool,
            binds: async () => (await spool.health()).binds,
            cluster: () => spool.cluster(),
            node: sharedByNodes(config) ? config.node.id : undefined,
          }),
        );
  if (web) started.push(() => web.close());
  const smtp = await listening(keyed('smtp.'), () =>
    startSmtp({
      config,
      log,
      metrics,
      // Parsing and spooling happen on the work thread; this thread only speaks SMTP.
      accept: async (sub, slog) => {
        const result = await spool.intake(sub, bindings(slog));
        if (floodOn) {
          sub.recipients.forEach((r, i) => {
            if (result.perRecipient[i]!.code < 400) recent.note(r.phone.digits);
          });
        }
        return result;
      },
      // Only a subscriber messaged within the last gap can be in a streak: only then ask the spool.
      checkRecipient: async (phone) =>
        floodOn &&
        recent.mayBeInStreak(phone.digits) &&
        floodRefused(await spool.recentAccepted(phone.digits, rules.floodMax), clockNow(), rules)
          ? floodReply(phone.digits, rules)
          : undefined,
      admission: () => {
        if (clockState.problem) {
          return replies.clockSkewed(clockState.problem);
        }
        return depth >= config.spool.max_queued ? replies.queueFull(config.spool.max_queued) : undefined;
      },
    }),
  );
  accepting = true;

  if (simulator) {
    simLog.info({ port: simPort }, 'embedded SMSC simulator listening (demo mode)');
    // A person at the demo's terminal can answer as the phone: `reply <phone> <to> <text>`.
    if (process.stdin.isTTY) {
      simLog.info('type "reply <phone> <to> <text>" and Enter to answer as a phone');
      replyFromStdin(simulator, (line) => simLog.info(line));
    }
  }
  if (ops)
    log.info({ port: ops.port(), host: config.metrics.host }, 'metrics and health on /metrics, /healthz, /readyz');
  if (web) log.info({ port: web.port(), host: config.web.host, tls: config.web.tls }, 'web page and API listening');
  log.info(
    {
      ports: smtp.ports(),
      host: config.smtp.host,
      lmtp: config.smtp.lmtp,
      spool: spoolShown(config),
      smsc: config.smpp.url,
    },
    'smtp2sms listening',
  );

  // Often enough that nothing outlives spool.max_age_s by more than a quarter of it; at most every 30 s.
  const maintenanceMs = Math.min(30_000, Math.max(250, config.spool.max_age_s * 250));
  const maintenance = setInterval(() => {
    const t = clockNow();
    recent.prune();
    (async () => {
      const expired = await spool.expireQueued(
        t - config.spool.max_age_s * 1000,
        t,
        `not sent within spool.max_age_s (${config.spool.max_age_s} s)`,
      );
      if (expired > 0) log.warn({ expired }, 'queued messages expired');
      if (config.spool.keep_days > 0) await spool.prune(t - config.spool.keep_days * DAY_MS);
    })().catch((err: unknown) => log.error({ err }, 'spool maintenance failed'));
  }, maintenanceMs);
  maintenance.unref();

  return {
    smtp,
    web,
    ops,
    spool,
    simulator,
    reload(next) {
      smtp.reload(next);
      return { webSessionsEnded: web?.reload(next.smtp.auth.users) };
    },
    async stop() {
      stopping = true;
      clearInterval(maintenance);
      clearInterval(depthTimer);
      await smtp.close();
      await spool.stopDelivery(config.smpp.shutdown_timeout_s * 1000);
      await simulator?.close();
      await ops?.close();
      await web?.close();
      await spool.close();
      lock.release();
    },
  };
}
