/**
 * Test-side helpers for the run's PostgreSQL server (started by test/setup/postgres.ts): a database of its own for
 * each test file, so files can run in parallel, and stop/start for fault tests.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { type PgTestServer, run, startCommand, stopCommand } from './pg-ctl.js';

export function pgTestServer(): PgTestServer {
  return inject('postgres');
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgTestServer().adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database on the run's server; `drop()` removes it, closing any connections still open to it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await asAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(pgTestServer().adminUrl);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => asAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Stops and starts the run's one server (`-m fast`: sessions are cut as on a real shutdown; committed data stays).
 * Every test file using PostgreSQL sees the outage, so a file that stops the server must restart it in a `finally`.
 */
export const pgServer = {
  async stop(): Promise<void> {
    const server = pgTestServer();
    await run(stopCommand(server, 'fast'), dirname(server.dataDir));
  },
  async start(): Promise<void> {
    const server = pgTestServer();
    await run(startCommand(server), dirname(server.dataDir));
  },
};
