/** pino JSON logs (pino-pretty for a terminal); secrets are masked in a logged object and one level inside it. */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

const SECRET_KEYS = ['password', 'password_hash'];
const CENSOR = '***';

function hasSecret(v: object): boolean {
  for (const k of SECRET_KEYS) if (k in v) return true;
  return false;
}

/**
 * `password` and `password_hash` masked at the top of a logged object (or a child's bindings) and in any object
 * directly under it: what pino's `redact` did with ['password', '*.password', …], at a tenth of its cost (its
 * wildcard paths cost ~6 µs per mail over the two lines a mail logs, a third of all its logging; this costs
 * <1 µs). The logged object is copied, never changed. No code logs a secret today: this is the safety net.
 */
export function maskLogged(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  for (const k in obj) {
    const v = obj[k];
    let masked: unknown;
    if (SECRET_KEYS.includes(k)) masked = CENSOR;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && hasSecret(v)) {
      masked = { ...v, ...Object.fromEntries(SECRET_KEYS.filter((s) => s in v).map((s) => [s, CENSOR])) };
    } else continue;
    if (out === obj) out = { ...obj };
    out[k] = masked;
  }
  return out;
}

export function createLogger(level: string, opts: { pretty?: boolean; destination?: number | string } = {}): Logger {
  const options = { level, base: { service: 'smtp2sms' }, formatters: { log: maskLogged } };
  const log = opts.pretty
    ? pino(
        options,
        pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service,hostname,pid' }),
      )
    : pino(options, pino.destination({ dest: opts.destination ?? 1, sync: false }));
  // A child's bindings are written on each of its lines but never pass formatters.log: masked once, here. pino
  // makes a child with Object.create(parent), so every descendant inherits this child().
  const child = log.child;
  log.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, maskLogged(newBindings(this, bindings)), childOptions);
  } as Logger['child'];
  return log;
}

/** Each logger's own bindings, read once (pino's bindings() parses them back from JSON on every call). */
const bindingsOf = new WeakMap<Logger, Record<string, unknown>>();

/**
 * The bindings a parent does not already write: pino writes a key once per binding, so a child given its parent's
 * `service` or `node` again (the work thread's child for a mail carries the SMTP session's bindings, which have
 * them too) would write them twice on every line.
 */
function newBindings(parent: Logger, bindings: Record<string, unknown>): Record<string, unknown> {
  let has = bindingsOf.get(parent);
  if (!has) {
    has = parent.bindings();
    bindingsOf.set(parent, has);
  }
  let out = bindings;
  for (const k in bindings) {
    if (!(k in has) || has[k] !== bindings[k]) continue;
    if (out === bindings) out = { ...bindings };
    delete out[k];
  }
  return out;
}

/** For tests and tools that must not print. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
