/**
 * What the tests know about the throwaway PostgreSQL server that test/setup/postgres.ts starts, and the pg_ctl calls
 * both the set-up and the tests make on it. Plain node:child_process only: the set-up imports this in vitest's main
 * process, where `inject` does not exist.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

export interface PgTestServer {
  /** The run's shared database (also in process.env.TEST_POSTGRES_URL for child processes). */
  url: string;
  /** The superuser on the `postgres` database: for CREATE/DROP DATABASE. */
  adminUrl: string;
  binDir: string;
  dataDir: string;
  logFile: string;
  /** Debian's initdb/pg_ctl refuse root: when the run is root they run as this user through runuser. */
  runAs: string | null;
}

// vitest 4: a globalSetup hands values to test files with `project.provide(key, value)` and they read them with
// `inject(key)` from 'vitest'; values must be serialisable (they cross into the forked workers).
declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PgTestServer;
  }
}

export interface Command {
  file: string;
  args: string[];
}

/** A PostgreSQL binary from the server's bin dir, as the server's user. */
export function pgCommand(server: Pick<PgTestServer, 'binDir' | 'runAs'>, tool: string, args: string[]): Command {
  const file = `${server.binDir}/${tool}`;
  if (server.runAs === null) return { file, args };
  return { file: 'runuser', args: ['-u', server.runAs, '--', file, ...args] };
}

// -l sends the postmaster's output to a file: otherwise it would hold our pipes open and execFile never returns.
export function startCommand(server: PgTestServer): Command {
  return pgCommand(server, 'pg_ctl', ['-D', server.dataDir, '-l', server.logFile, '-w', '-t', '60', 'start']);
}

export function stopCommand(server: PgTestServer, mode: 'fast' | 'immediate'): Command {
  return pgCommand(server, 'pg_ctl', ['-D', server.dataDir, '-w', '-t', '60', 'stop', '-m', mode]);
}

const execFileAsync = promisify(execFile);

/** Runs a command; a failure carries its output, since pg_ctl explains itself on stdout as often as on stderr. */
export async function run(command: Command, cwd: string): Promise<void> {
  try {
    await execFileAsync(command.file, command.args, { cwd });
  } catch (error) {
    throw commandError(command, error);
  }
}

export function runSync(command: Command, cwd: string): string {
  try {
    return execFileSync(command.file, command.args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw commandError(command, error);
  }
}

function commandError(command: Command, error: unknown): Error {
  const { stdout = '', stderr = '' } = error as { stdout?: string | Buffer; stderr?: string | Buffer };
  const output = `${String(stdout)}${String(stderr)}`.trim();
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new Error(`${[command.file, ...command.args].join(' ')} failed: ${message}\n${output}`, { cause: error });
}
