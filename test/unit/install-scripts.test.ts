/**
 * npm 11 runs a dependency's install scripts only with a notice ("not yet covered by allowScripts") unless
 * package.json's allowScripts says yes or no: every package the lockfile marks as having one must be decided there,
 * so `npm ci` stays quiet and a new one shows up here, not as a line at the end of an install.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('prepare keeps a built dist/ in an install without dev dependencies (npm ci --omit=dev), and says so', () => {
    // package.json's own prepare, run by npm in a tree without node_modules/typescript, as --omit=dev leaves it.
    const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-prepare-'));
    copyFileSync('package.json', join(dir, 'package.json'));
    const prepare = () => spawnSync('npm', ['run', '--silent', 'prepare'], { cwd: dir, encoding: 'utf8' });
    const unbuilt = prepare();
    expect(unbuilt.status).toBe(1);
    expect(unbuilt.stderr).toContain('dist/ is not built and typescript is not installed: run npm ci');
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/cli.js'), '');
    const built = prepare();
    expect(built.status).toBe(0);
    expect(built.stdout).toContain('no typescript here (npm ci --omit=dev): the dist/ built before stays');
  });
});
