/**
 * Test-side helpers for the run's PostgreSQL server (started by test/setup/postgres.ts): a database of its own for
 * each test file, so files can run in parallel (a test that stops a server starts one of its own: own-postgres.ts).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { PgTestServer } from './pg-ctl.js';

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
