/**
 * Debian's chromium for the browser tests, driven by playwright-core (which ships no browser). When it is missing
 * and the tests run as root with apt-get (CI, a fresh machine), it is installed here, as test/setup/postgres.ts
 * does for PostgreSQL; otherwise the error says how to install it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

function install(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `The browser tests need ${CHROMIUM}: \`apt-get install chromium\`, or run the tests as root on Debian`,
    );
  }
  console.log("chromium not found: installing Debian's chromium package for the browser tests (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    try {
      execFileSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(
        `apt-get ${args.join(' ')} failed while installing chromium:\n${(error as { stderr?: string }).stderr ?? ''}`,
      );
    }
  }
}

/**
 * A headless chromium with a fresh profile (its own --user-data-dir, which playwright takes as this argument),
 * nothing fetched from the network by the browser itself. Each call is a separate browser: separate cookies.
 */
export async function launchChromium(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) install();
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 760 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
