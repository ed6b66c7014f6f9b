import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPostgresForSuite } from '../helpers/own-postgres-suite.js';
import { createTestDatabase, pgTestServer, type TestDatabase } from '../helpers/postgres.js';
import { MIN_MAJOR, parseMajor, pickNewest } from '../setup/postgres-binaries.js';

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

describe("the test run's PostgreSQL server", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is handed to tests by inject and to child processes by TEST_POSTGRES_URL', async () => {
    expect(process.env.TEST_POSTGRES_URL).toBe(pgTestServer().url);
    const name = await withClient(
      pgTestServer().url,
      async (c) => (await c.query('SELECT current_database() AS n')).rows,
    );
    expect(name).toEqual([{ n: 'smtp2sms_test' }]);
  });

  it('commits for real: fsync and synchronous_commit are on', async () => {
    await withClient(db.url, async (c) => {
      expect((await c.query('SHOW fsync')).rows).toEqual([{ fsync: 'on' }]);
      expect((await c.query('SHOW synchronous_commit')).rows).toEqual([{ synchronous_commit: 'on' }]);
    });
  });

  it('gives each caller a database of its own', async () => {
    const other = await createTestDatabase();
    try {
      expect(other.url).not.toBe(db.url);
      await withClient(other.url, (c) => c.query('CREATE TABLE mine (id int)'));
      const seen = await withClient(db.url, async (c) => (await c.query("SELECT to_regclass('mine') AS t")).rows);
      expect(seen).toEqual([{ t: null }]);
    } finally {
      await other.drop();
    }
  });
});

// A server of its own: stopping the run's shared one would cut every other test file running at the same time.
describe('a PostgreSQL server stopped and started', () => {
  const own = ownPostgresForSuite();

  it('keeps a committed row across a stop and start of the server', async () => {
    await withClient(own.url, async (c) => {
      await c.query('CREATE TABLE sms (id serial PRIMARY KEY, text text NOT NULL)');
      await c.query('BEGIN');
      await c.query("INSERT INTO sms (text) VALUES ('Disk full')");
      await c.query('COMMIT');
      expect((await c.query('SELECT text FROM sms')).rows).toEqual([{ text: 'Disk full' }]);
    });

    const open = await connect(own.url);
    // pg emits the server's FATAL and then the closed socket: keep listening so neither is an uncaught error.
    const cut: Error[] = [];
    open.on('error', (error) => cut.push(error));
    await own.stop();
    try {
      // An open session is cut by the shutdown and a new one is refused.
      await expect(open.query('SELECT 1')).rejects.toThrow();
      expect(cut[0]?.message).toMatch(/terminating connection due to administrator command/);
      await expect(connect(own.url)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await own.start();
    }

    const rows = await withClient(own.url, async (c) => (await c.query('SELECT text FROM sms')).rows);
    expect(rows).toEqual([{ text: 'Disk full' }]);
  });
});

describe('choosing the PostgreSQL binaries', () => {
  it('reads the major version from postgres --version', () => {
    expect(parseMajor('postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n')).toBe(15);
    expect(parseMajor('postgres (PostgreSQL) 17beta1')).toBe(17);
    expect(parseMajor('something else')).toBeNull();
  });

  it('takes the newest at or above the minimum, the first found on a tie', () => {
    const found = [
      { binDir: '/usr/local/bin', major: 15 },
      { binDir: '/usr/lib/postgresql/12/bin', major: 12 },
      { binDir: '/usr/lib/postgresql/16/bin', major: 16 },
      { binDir: '/usr/lib/postgresql/15/bin', major: 15 },
    ];
    expect(pickNewest(found)).toEqual({ binDir: '/usr/lib/postgresql/16/bin', major: 16 });
    expect(pickNewest(found.slice(0, 2))).toEqual({ binDir: '/usr/local/bin', major: 15 });
    expect(pickNewest([{ binDir: '/old', major: MIN_MAJOR - 1 }])).toBeNull();
  });
});
