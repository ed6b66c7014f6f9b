/**
 * npm 11 runs a dependency's install scripts only with a notice ("not yet covered by allowScripts") unless
 * package.json's allowScripts says yes or no: every package the lockfile marks as having one must be decided there,
 * so `npm ci` stays quiet and a new one shows up here, not as a line at the end of an install.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Lock {
  packages: Record<string, { hasInstallScript?: boolean }>;
}

describe('install scripts', () => {
  it('every locked package with an install script has an allowScripts decision', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as Lock;
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts).toContain('better-sqlite3');
    const undecided = withScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean');
    expect(undecided).toEqual([]);
  });
});
