import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/temp-root.ts'],
    testTimeout: 30_000,
    // Property tests and e2e child processes share 2 cores on CI.
    pool: 'forks',
  },
});
