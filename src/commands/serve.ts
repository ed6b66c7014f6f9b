/** `smtp2sms serve`: run the daemon until SIGTERM/SIGINT. */
import type { Config } from '../config/schema.js';
import { startDaemon } from '../daemon.js';
import type { Logger } from '../ops/log.js';

export async function serve(config: Config, log: Logger, logPretty = false): Promise<void> {
  const daemon = await startDaemon(config, log, { logPretty });
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
