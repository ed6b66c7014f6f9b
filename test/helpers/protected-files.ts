/**
 * Files as a DynamicUser meets them: a TLS key only root may read, a certificate anyone may, a spool directory the
 * service's user owns, and systemd's credentials (a copy of a file, readable by that user only). Root reads any
 * file whatever its mode, so a root test run checks as nobody (a child with uid and gid 65534, as a DynamicUser
 * is); another user is unprivileged already, and its key is mode 0000.
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import YAML from 'yaml';
import type { RunAs } from './cli.js';

export const FIXTURE_KEY = resolve('test/fixtures/tls/key.pem');
export const FIXTURE_CERT = resolve('test/fixtures/tls/cert.pem');
export const AS_ROOT = process.getuid?.() === 0;
/** Someone a root-only file is not for. */
export const UNPRIVILEGED: RunAs = AS_ROOT ? { uid: 65534, gid: 65534 } : {};

export interface FilesDir {
  dir: string;
  /** A copy of the fixture key that only root may read (mode 0600; 0000 when the tests are not root). */
  key: string;
  cert: string;
  /** A directory the unprivileged user may write the spool in. */
  spoolDir: string;
  /** A config file (readable by everyone) made of these sections, the spool in spoolDir unless they say. */
  config(sections: Record<string, unknown>): string;
  /** A systemd credential named `id` holding a copy of `file`, readable by the unprivileged user only. */
  credential(id: string, file: string): { dir: string; path: string };
}

/**
 * The run's temp root (test/setup/temp-root.ts) is 0700, so nobody could not reach a file in it: these dirs go
 * beside it and are removed after the file's tests.
 */
const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function filesDir(): FilesDir {
  const root = basename(tmpdir()).startsWith('smtp2sms-tests-') ? dirname(tmpdir()) : tmpdir();
  const dir = mkdtempSync(join(root, 'smtp2sms-files-'));
  made.push(dir);
  chmodSync(dir, 0o755); // the unprivileged user must reach the files in it
  const key = join(dir, 'key.pem');
  copyFileSync(FIXTURE_KEY, key);
  chmodSync(key, AS_ROOT ? 0o600 : 0o000);
  const cert = join(dir, 'cert.pem');
  copyFileSync(FIXTURE_CERT, cert);
  chmodSync(cert, 0o644);
  const spoolDir = join(dir, 'spool');
  mkdirSync(spoolDir);
  if (AS_ROOT) chownSync(spoolDir, 65534, 65534);
  const credentials = join(dir, 'credentials');
  let n = 0;
  return {
    dir,
    key,
    cert,
    spoolDir,
    config(sections) {
      const path = join(dir, `config-${++n}.yaml`);
      writeFileSync(path, YAML.stringify({ spool: { path: join(spoolDir, 'spool.sqlite') }, ...sections }), {
        mode: 0o644,
      });
      return path;
    },
    credential(id, file) {
      mkdirSync(credentials, { recursive: true, mode: 0o755 });
      const path = join(credentials, id);
      rmSync(path, { force: true });
      copyFileSync(file, path);
      chmodSync(path, 0o400);
      if (AS_ROOT) chownSync(path, 65534, 65534);
      return { dir: credentials, path };
    },
  };
}
