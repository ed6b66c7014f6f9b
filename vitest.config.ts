import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // postgres first: its temp dir must be outside temp-root's 0700 dir, which the postgres user cannot enter.
    globalSetup: ['test/setup/postgres.ts', 'test/setup/temp-root.ts'],
    testTimeout: 30_000,
    // Property tests and e2e child processes share 2 cores on CI.
    pool: 'forks',
    // Most e2e time is spent waiting on daemons and timers, so two files at once roughly halve the wall time on 2
    // cores (vitest's default there is one worker).
    maxWorkers: 2,
  },
});
