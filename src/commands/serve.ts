/** `smtp2sms serve`: run the daemon until SIGTERM/SIGINT. */
import { randomBytes } from 'node:crypto';
import { DEMO_USERNAME, needsDemoUser, withDemoUser } from '../config/demo-user.js';
import { withCredentials } from '../config/files.js';
import { configWarnings, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { startDaemon, type Daemon } from '../daemon.js';
import type { Logger } from '../ops/log.js';
import { hashPassword, userChanges } from '../smtp/auth.js';
import { parentIsNpm, stopSignals } from './stop-signals.js';

/**
 * Keys SIGHUP applies to the running daemon (SMTP, the web page and the API alike: Daemon.reload); a change anywhere
 * else needs a restart.
 */
const RELOADABLE = new Set(['smtp.auth.users', 'smtp.domains', 'smtp.allow_networks']);

function leaves(value: unknown, path = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value))
      for (const [p, s] of leaves(v, path ? `${path}.${k}` : k)) out.set(p, s);
  } else out.set(path, JSON.stringify(value));
  return out;
}

/** Keys whose values differ between two configs. */
export function changedKeys(before: Config, after: Config): string[] {
  const a = leaves(before);
  const b = leaves(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

export async function serve(fromFile: Config, log: Logger, logPretty = false, configPath?: string): Promise<void> {
  // Demo mode without users of its own: one web user for this run (config/demo-user.ts), kept across reloads
  // until the file names users.
  const demoPassword = needsDemoUser(fromFile) ? randomBytes(9).toString('base64url') : undefined;
  const demoHash = demoPassword ? await hashPassword(demoPassword) : undefined;
  const withDemo = (c: Config): Config => (demoHash ? withDemoUser(c, demoHash) : c);
  const config = withDemo(fromFile);
  // The handlers exist before anything listens: a SIGHUP's default action is to end the process, and a client (or
  // systemd's ExecReload, or a test) may signal as soon as the SMTP port answers, while start-up still runs.
  // A signal that arrives during start-up is acted on once the daemon has started.
  let daemon: Daemon | undefined;
  let current = config;
  let reloadPending = false;
  let stopping = false;
  const starting = new AbortController();

  const reload = (running: Daemon) => {
    if (!configPath) return log.warn('SIGHUP: no --config file to re-read');
    try {
      // Credentials as at start: a file read from one must not look like a changed path that needs a restart.
      const next = withDemo(withCredentials(loadConfig(configPath, process.env), process.env).config);
      const changed = changedKeys(current, next);
      const later = changed.filter(
        (k) => ![...RELOADABLE].some((r) => k === r || k.startsWith(`${r}.`) || k.startsWith(`${r}[`)),
      );
      const applied = changed.filter((k) => !later.includes(k));
      const users = userChanges(current.smtp.auth.users, next.smtp.auth.users);
      const { webSessionsEnded } = running.reload(next);
      current = {
        ...current,
        smtp: {
          ...current.smtp,
          domains: next.smtp.domains,
          allow_networks: next.smtp.allow_networks,
          auth: { ...current.smtp.auth, users: next.smtp.auth.users },
        },
      };
      for (const w of configWarnings(next)) log.warn(w);
      // What changed and was applied, users by name (never a hash); the web page and API follow as SMTP does.
      log.info(
        {
          applied,
          ...(applied.includes('smtp.auth.users') ? { users } : {}),
          ...(webSessionsEnded === undefined ? {} : { webSessionsEnded }),
        },
        'configuration reloaded',
      );
      if (later.length > 0) log.warn({ keys: later }, 'these changes need a restart to take effect');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'SIGHUP: configuration not reloaded; the running one stays');
    }
  };
  const finishStop = (running: Daemon) =>
    running.stop().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  const judge = stopSignals(parentIsNpm());
  const stop = (signal: string) => {
    const verdict = judge(signal, Date.now());
    if (verdict === 'echo') return log.info({ signal }, 'same signal again: taken as the echo of the first one');
    if (verdict === 'again') {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, starting: daemon === undefined }, 'stopping');
    if (daemon) void finishStop(daemon);
    // A start waiting for its database ends now; one past that point is stopped once it has started.
    else starting.abort(new Error('stopped while waiting for the spool'));
  };
  process.on('SIGHUP', () => {
    if (daemon) reload(daemon);
    else {
      reloadPending = true;
      log.info('SIGHUP during start-up: the config is re-read once started');
    }
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // `node` is the node id on every line (src/cli.ts binds it); the Node.js version is `nodejs`.
  log.info({ pid: process.pid, nodejs: process.version }, 'starting');

  try {
    daemon = await startDaemon(config, log, {
      logPretty,
      signal: starting.signal,
      // Committed mail is safe in the spool; a restart (systemd Restart=on-failure) brings delivery back.
      onFatal: () => {
        log.flush();
        process.exit(1);
      },
    });
  } catch (err) {
    if (!starting.signal.aborted) throw err;
    log.info('stopped');
    log.flush();
    process.exit(0);
  }
  if (demoPassword) {
    // In the message, not a field: the log masks fields named password.
    log.info(
      `demo web page: http://${config.web.host}:${config.web.port} — sign in as ${DEMO_USERNAME} / ${demoPassword}`,
    );
  }
  if (stopping) void finishStop(daemon);
  else if (reloadPending) reload(daemon);
}
