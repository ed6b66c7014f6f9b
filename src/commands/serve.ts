/** `smtp2sms serve`: run the daemon until SIGTERM/SIGINT. */
import { configWarnings, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { startDaemon } from '../daemon.js';
import type { Logger } from '../ops/log.js';

/** Keys SIGHUP applies to the running daemon; a change anywhere else needs a restart. */
const RELOADABLE = new Set(['smtp.auth.users', 'smtp.domains', 'smtp.allow_networks']);

function leaves(value: unknown, path = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) for (const [p, s] of leaves(v, path ? `${path}.${k}` : k)) out.set(p, s);
  } else out.set(path, JSON.stringify(value));
  return out;
}

/** Keys whose values differ between two configs. */
export function changedKeys(before: Config, after: Config): string[] {
  const a = leaves(before);
  const b = leaves(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

export async function serve(config: Config, log: Logger, logPretty = false, configPath?: string): Promise<void> {
  const daemon = await startDaemon(config, log, {
    logPretty,
    // Committed mail is safe in the spool; a restart (systemd Restart=on-failure) brings delivery back.
    onFatal: () => {
      log.flush();
      process.exit(1);
    },
  });
  let current = config;
  process.on('SIGHUP', () => {
    if (!configPath) return log.warn('SIGHUP: no --config file to re-read');
    try {
      const next = loadConfig(configPath, process.env);
      const changed = changedKeys(current, next);
      const later = changed.filter((k) => ![...RELOADABLE].some((r) => k === r || k.startsWith(`${r}.`) || k.startsWith(`${r}[`)));
      daemon.smtp.reload(next);
      current = { ...current, smtp: { ...current.smtp, domains: next.smtp.domains, allow_networks: next.smtp.allow_networks, auth: { ...current.smtp.auth, users: next.smtp.auth.users } } };
      for (const w of configWarnings(next)) log.warn(w);
      log.info({ applied: changed.filter((k) => !later.includes(k)) }, 'configuration reloaded (users, domains, allow_networks)');
      if (later.length > 0) log.warn({ keys: later }, 'these changes need a restart to take effect');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'SIGHUP: configuration not reloaded; the running one stays');
    }
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    daemon.stop().then(
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
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
