/** pino JSON logs; secrets are redacted wherever they appear in a logged object. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, opts: { destination?: number | string } = {}): Logger {
  return pino(
    {
      level,
      base: { service: 'smtp2sms' },
      redact: { paths: ['password', '*.password', 'password_hash', '*.password_hash', 'auth.password'], censor: '***' },
    },
    pino.destination({ dest: opts.destination ?? 1, sync: false }),
  );
}

/** For tests and tools that must not print. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
