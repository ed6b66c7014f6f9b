/**
 * Debian's chromium for the browser tests, driven by playwright-core (which ships no browser). When it is missing
 * and the tests run as root with apt-get (CI, a fresh machine), it is installed here, as test/setup/postgres.ts
 * does for PostgreSQL; otherwise the error says how to install it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ensureDebianPackage } from './debian-package.js';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * A headless chromium with a fresh profile (its own --user-data-dir, which playwright takes as this argument),
 * nothing fetched from the network by the browser itself. Each call is a separate browser: separate cookies.
 */
export async function launchChromium(): Promise<BrowserContext> {
  ensureDebianPackage(CHROMIUM, 'chromium', 'The browser tests');
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
