/**
 * A PostgreSQL server of a test's own, for fault tests that stop and start it: the run's shared server
 * (test/setup/postgres.ts) serves every other file at the same moment, and stopping it would fail them. Same
 * binaries, same pg_ctl calls; trust authentication on loopback, the data in a dir the server's user can enter.
 */
import { appendFileSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { findBinaries } from '../setup/postgres-binaries.js';
import { pgCommand, type PgTestServer, run, runSync, startCommand, stopCommand } from './pg-ctl.js';
import { freePort } from './daemon-process.js';

export interface OwnPostgres {
  url: string;
  /** The server's data directory (its postmaster.pid names the server process). */
  dataDir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const binaries = findBinaries();
  if (binaries === null)
    throw new Error('no PostgreSQL binaries (the run’s set-up found some: this should not happen)');
  const runAs = process.getuid?.() === 0 ? 'postgres' : null;
  // Not under TMPDIR: the run's temp root is 0700 and the postgres user could not enter it.
  const dir = mkdtempSync('/tmp/smtp2sms-own-pg-');
  if (runAs !== null) {
    const id = (flag: string) => Number(execFileSync('id', [flag, runAs], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const server: PgTestServer = {
    url: '',
    adminUrl: '',
    binDir: binaries.binDir,
    dataDir: join(dir, 'data'),
    logFile: join(dir, 'server.log'),
    runAs,
  };
  runSync(
    pgCommand(server, 'initdb', ['-D', server.dataDir, '-U', 'postgres', '--auth=trust', '--locale=C', '--no-sync']),
    dir,
  );
  const port = await freePort();
  appendFileSync(
    join(server.dataDir, 'postgresql.conf'),
    `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nfsync = on\n`,
  );
  await run(startCommand(server), dir);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    dataDir: server.dataDir,
    stop: () => run(stopCommand(server, 'fast'), dir),
    start: () => run(startCommand(server), dir),
    async destroy() {
      await run(stopCommand(server, 'immediate'), dir).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
