/**
 * The daemon's listening ports by the keys that set them. All are tried before anything starts, so a port in use
 * (or one below 1024 without the capability) stops the start with the key named, before the spool is opened and
 * before any line says the daemon listens; a listen that still fails later is named the same way.
 */
import net from 'node:net';
import { UsageError } from '../errors.js';
import type { Config } from '../config/schema.js';

export interface Listener {
  key: string;
  host: string;
  port: number;
}

/** A port the daemon could not listen on: a config error (exit 2), naming the key. */
export class ListenError extends UsageError {
  constructor(
    readonly listener: Listener,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`${listener.key}: cannot listen on ${listener.host}:${listener.port}: ${detail}`);
    this.name = 'ListenError';
  }
}

const WHY: Record<string, string> = {
  EADDRINUSE: 'the port is in use by another program (EADDRINUSE)',
  EACCES: 'permission denied (EACCES; a port below 1024 needs CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'no such address on this host (EADDRNOTAVAIL)',
  ENOTFOUND: 'the host name does not resolve (ENOTFOUND)',
  EAI_AGAIN: 'the host name does not resolve (EAI_AGAIN)',
};

/** Every port this config listens on (metrics.port and web.port 0 are off; smtp.port 0 is any free port). */
export function listenersOf(config: Config): Listener[] {
  const all: Listener[] = [{ key: 'smtp.port', host: config.smtp.host, port: config.smtp.port }];
  const implicit = config.smtp.tls.implicit_port;
  if (implicit !== null) all.push({ key: 'smtp.tls.implicit_port', host: config.smtp.host, port: implicit });
  if (config.simulator.enabled)
    all.push({ key: 'simulator.port', host: config.simulator.host, port: config.simulator.port });
  if (config.metrics.port !== 0)
    all.push({ key: 'metrics.port', host: config.metrics.host, port: config.metrics.port });
  if (config.web.port !== 0) all.push({ key: 'web.port', host: config.web.host, port: config.web.port });
  return all;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The listen error as the operator reads it; other errors pass unchanged. */
export function listenError(listener: Listener, err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === undefined || !(code in WHY)) return err;
  return new ListenError(listener, code, WHY[code]!);
}

/** Run a listen, naming the key when it fails; with several keys, the one whose port the error names. */
export async function listening<T>(listeners: Listener[], start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const port = (err as { port?: number }).port;
    const listener = listeners.find((l) => l.port === port) ?? listeners[0];
    throw listener ? listenError(listener, err) : err;
  }
}

function tryListen(l: Listener): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err) => reject(listenError(l, err)));
    server.listen({ host: l.host, port: l.port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/**
 * Each port listened on for a moment and let go, one after another (port 0 checks the address); two keys on one
 * port are refused by name. Throws ListenError for the first that fails.
 */
export async function checkListeners(config: Config): Promise<void> {
  const all = listenersOf(config);
  for (const [i, l] of all.entries()) {
    const clash = all
      .slice(0, i)
      .find(
        (o) => l.port !== 0 && o.port === l.port && (o.host === l.host || WILDCARD.has(o.host) || WILDCARD.has(l.host)),
      );
    if (clash) throw new ListenError(l, undefined, `${clash.key} listens there too`);
    await tryListen(l);
  }
}
