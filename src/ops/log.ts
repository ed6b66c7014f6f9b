/** pino JSON logs (pino-pretty for a terminal); secrets are redacted wherever they appear in a logged object. */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: string, opts: { pretty?: boolean; destination?: number | string } = {}): Logger {
  const options = {
    level,
    base: { service: 'smtp2sms' },
    redact: { paths: ['password', '*.password', 'password_hash', '*.password_hash'], censor: '***' },
  };
  if (opts.pretty)
    return pino(
      options,
      pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service,hostname,pid' }),
    );
  return pino(options, pino.destination({ dest: opts.destination ?? 1, sync: false }));
}

/** For tests and tools that must not print. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
