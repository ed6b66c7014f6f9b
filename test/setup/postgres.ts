/**
 * vitest globalSetup: a throwaway PostgreSQL server for the run (issue 14's spool backend is tested against a real
 * one). initdb's a cluster in a temp dir, starts it on a free loopback port with its unix socket in that dir, and
 * creates the database `smtp2sms_test`. Tests get its details with `inject('postgres')` (see test/helpers/pg-ctl.ts;
 * test/helpers/postgres.ts has the helpers); child processes get the URL from process.env.TEST_POSTGRES_URL,
 * which the forked workers inherit.
 *
 * The postmaster is not our child (pg_ctl detaches it), so nothing kills it when the run dies: teardown stops it,
 * a process 'exit' hook stops it when vitest exits on SIGINT/SIGTERM (vitest then skips teardown), and a detached
 * watchdog stops it when the vitest process disappears without running either (SIGKILL).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { pgCommand, type PgTestServer, run, runSync, startCommand, stopCommand } from '../helpers/pg-ctl.js';
import { findOrInstallBinaries } from './postgres-binaries.js';

const DATABASE = 'smtp2sms_test';
const START_ATTEMPTS = 3;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { binDir } = findOrInstallBinaries();
  const runAs = process.getuid?.() === 0 ? 'postgres' : null;
  const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-pg-'));
  const server: PgTestServer = {
    url: '',
    adminUrl: '',
    binDir,
    dataDir: join(dir, 'data'),
    logFile: join(dir, 'server.log'),
    runAs,
  };
  const emergencyStop = (): void => stopAndRemoveSync(server, dir);
  process.on('exit', emergencyStop);
  const watchdog = startWatchdog(server, dir);
  const cleanUp = async (): Promise<void> => {
    process.off('exit', emergencyStop);
    delete process.env.TEST_POSTGRES_URL;
    try {
      await run(stopCommand(server, 'fast'), dir);
    } catch {
      // Already stopped (a test may have left it so), or stuck: make sure, the dir goes next.
      stopAndRemoveSync(server, dir);
    }
    rmSync(dir, { recursive: true, force: true });
    watchdog.kill();
  };

  try {
    const password = randomBytes(16).toString('hex');
    const pwFile = join(dir, 'password');
    writeFileSync(pwFile, `${password}\n`);
    if (runAs !== null) {
      // The temp dir is the postgres user's: initdb makes the data dir there and the socket lives there.
      const { uid, gid } = userIds(runAs);
      chownSync(dir, uid, gid);
      chownSync(pwFile, uid, gid);
    }
    // --no-sync only skips initdb's final flush of the template files (a crash would just lose the throwaway
    // cluster); the running server keeps fsync and synchronous_commit on, so tests see real commits.
    runSync(
      pgCommand(server, 'initdb', [
        '-D',
        server.dataDir,
        '-U',
        'postgres',
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ]),
      dir,
    );
    appendFileSync(join(server.dataDir, 'postgresql.conf'), "\ninclude 'smtp2sms-test.conf'\n");
    const port = await startOnFreePort(server, dir);
    const base = `postgresql://postgres:${password}@127.0.0.1:${port}`;
    server.adminUrl = `${base}/postgres`;
    server.url = `${base}/${DATABASE}`;
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await cleanUp();
    throw error;
  }

  project.provide('postgres', server);
  process.env.TEST_POSTGRES_URL = server.url;
  return cleanUp;
}

/** Another run (or anything else) may take a port between our probe and the bind: try a new one. */
async function startOnFreePort(server: PgTestServer, dir: string): Promise<number> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freeLoopbackPort();
    writeFileSync(
      join(server.dataDir, 'smtp2sms-test.conf'),
      [
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        // Debian's build defaults to /var/run/postgresql, which a fresh machine may not have.
        `unix_socket_directories = '${dir}'`,
        'fsync = on',
        'synchronous_commit = on',
        '',
      ].join('\n'),
    );
    try {
      await run(startCommand(server), dir);
      return port;
    } catch (error) {
      lastError = error;
    }
  }
  const log = existsSync(server.logFile) ? readFileSync(server.logFile, 'utf8').slice(-2000) : '(no log)';
  throw new Error(`PostgreSQL for the tests did not start; server log:\n${log}`, { cause: lastError });
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch (error) {
    throw new Error(`The tests run as root and PostgreSQL refuses root, but there is no '${user}' user to run it as`, {
      cause: error,
    });
  }
}

function stopAndRemoveSync(server: PgTestServer, dir: string): void {
  try {
    if (existsSync(join(server.dataDir, 'postmaster.pid'))) runSync(stopCommand(server, 'immediate'), dir);
  } catch {
    // Nothing more to do in an exit hook; the watchdog tries again.
  }
  rmSync(dir, { recursive: true, force: true });
}

// Runs as `node -e`, detached (its own session, so the Ctrl-C that ends vitest does not end it too).
const WATCHDOG = `
const { execFileSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const [parent, dir, file, ...args] = JSON.parse(process.argv[1]);
setInterval(() => {
  try { process.kill(parent, 0); return; } catch (error) { if (error.code !== 'ESRCH') return; }
  try { execFileSync(file, args, { cwd: '/', stdio: 'ignore' }); } catch {}
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}, 250);
`;

function startWatchdog(server: PgTestServer, dir: string): { kill(): void } {
  const stop = stopCommand(server, 'immediate');
  const child = spawn(process.execPath, ['-e', WATCHDOG, JSON.stringify([process.pid, dir, stop.file, ...stop.args])], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return { kill: () => child.kill() };
}
