/** A private PostgreSQL server for one describe block of a fault test (see own-postgres.ts). */
import { afterAll, beforeAll } from 'vitest';
import { startOwnPostgres, type OwnPostgres } from './own-postgres.js';

/** Started before the block's tests and destroyed after them; its url, stop and start are for the tests. */
export function ownPostgresForSuite(): Pick<OwnPostgres, 'url' | 'stop' | 'start'> {
  let own: OwnPostgres | undefined;
  beforeAll(async () => {
    own = await startOwnPostgres();
  }, 60_000);
  afterAll(async () => {
    await own?.destroy();
  });
  const started = (): OwnPostgres => {
    if (!own) throw new Error('the private PostgreSQL server has not started');
    return own;
  };
  return {
    get url() {
      return started().url;
    },
    stop: () => started().stop(),
    start: () => started().start(),
  };
}
