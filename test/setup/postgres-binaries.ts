/**
 * Finds a PostgreSQL server (initdb, pg_ctl, postgres) for the tests, installing Debian's package when the run is
 * root on a machine without one: the README's `npm ci && npm test` must pass on a fresh machine, and CI is root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/** DROP DATABASE … WITH (FORCE), used to drop a test file's database, came in 13. */
export const MIN_MAJOR = 13;
const DEBIAN_LIB = '/usr/lib/postgresql';
const TOOLS = ['initdb', 'pg_ctl', 'postgres'];

export interface PgBinaries {
  binDir: string;
  major: number;
}

/** Reads the major version from `postgres --version` ("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"). */
export function parseMajor(versionLine: string): number | null {
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(versionLine);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** The newest server at or above MIN_MAJOR; PATH wins a tie, so a deliberately installed one is used. */
export function pickNewest(found: readonly PgBinaries[]): PgBinaries | null {
  let best: PgBinaries | null = null;
  for (const candidate of found) {
    if (candidate.major >= MIN_MAJOR && (best === null || candidate.major > best.major)) best = candidate;
  }
  return best;
}

function candidateBinDirs(): string[] {
  const dirs: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const pgCtl = join(dir, 'pg_ctl');
    // Debian puts only wrappers (or nothing) in PATH; the real tools sit together in the version's bin dir.
    if (dir !== '' && existsSync(pgCtl)) dirs.push(dirname(realpathSync(pgCtl)));
  }
  if (existsSync(DEBIAN_LIB)) {
    for (const version of readdirSync(DEBIAN_LIB)) dirs.push(join(DEBIAN_LIB, version, 'bin'));
  }
  return [...new Set(dirs)];
}

function probe(binDir: string): PgBinaries | null {
  if (!TOOLS.every((tool) => existsSync(join(binDir, tool)))) return null;
  try {
    const major = parseMajor(execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }));
    return major === null ? null : { binDir, major };
  } catch {
    return null;
  }
}

export function findBinaries(): PgBinaries | null {
  return pickNewest(candidateBinDirs().flatMap((dir) => probe(dir) ?? []));
}

function canInstall(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function install(): void {
  console.log("PostgreSQL server not found: installing Debian's postgresql package for the tests (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'postgresql']]) {
    try {
      execFileSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const { stderr = '' } = error as { stderr?: string };
      throw new Error(`apt-get ${args.join(' ')} failed while installing PostgreSQL for the tests:\n${stderr}`);
    }
  }
}

export function findOrInstallBinaries(): PgBinaries {
  const found = findBinaries();
  if (found !== null) return found;
  if (canInstall()) {
    install();
    const installed = findBinaries();
    if (installed !== null) return installed;
  }
  throw new Error(
    `The tests need a PostgreSQL server ≥ ${MIN_MAJOR} (initdb, pg_ctl, postgres) in PATH or ${DEBIAN_LIB}/*/bin ` +
      'and found none. Install it (Debian/Ubuntu: `apt-get install postgresql`), or run the tests as root on ' +
      'Debian/Ubuntu and the set-up installs it.',
  );
}
