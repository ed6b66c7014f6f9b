/**
 * A Debian package a test needs (chromium, faketime): when its file is missing and the tests run as root with
 * apt-get (CI, a fresh machine), it is installed here, as test/setup/postgres.ts does for PostgreSQL; otherwise the
 * error says how to install it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function ensureDebianPackage(file: string, pkg: string, forWhat: string): void {
  if (existsSync(file)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`${forWhat} need ${file}: \`apt-get install ${pkg}\`, or run the tests as root on Debian`);
  }
  console.log(`${file} not found: installing Debian's ${pkg} package for ${forWhat} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', pkg]]) {
    try {
      execFileSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(
        `apt-get ${args.join(' ')} failed while installing ${pkg}:\n${(error as { stderr?: string }).stderr ?? ''}`,
      );
    }
  }
}
