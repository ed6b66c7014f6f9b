/**
 * The files a config names (TLS keys, certificates, CAs, the SQLite spool), each under its config key. Two jobs:
 *
 * - systemd credentials: under `LoadCredential=<key>:<file>` the unit's processes find a copy of a file they may
 *   not read themselves (a root-owned 0600 key under DynamicUser) in $CREDENTIALS_DIRECTORY, named after the key.
 *   A credential of that name takes the place of the file the key names; one that is empty or only blanks (the
 *   unit's `SetCredential=<key>:\n`, systemd's fallback when the file to load is absent) is no credential.
 * - checks: every file is opened and read as the daemon will read it, so check-config and serve's start name the
 *   key (`smtp.tls.key: /etc/smtp2sms/tls/key.pem: permission denied (EACCES)`) instead of a bare EACCES later.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { dirname, join } from 'node:path';
import { ConfigError } from './load.js';
import type { Config } from './schema.js';

type FileKind = 'key' | 'cert' | 'ca';

/** One file the daemon reads, by the key that names it (spool.url's libpq parameters as spool.url.<param>). */
export interface NamedFile {
  key: string;
  path: string;
  kind: FileKind;
}

/** PostgreSQL's file parameters in spool.url (`?sslmode=verify-full&sslrootcert=/etc/…`), read by pg at connect. */
const PG_FILE_PARAMS: Record<string, FileKind> = { sslrootcert: 'ca', sslcert: 'cert', sslkey: 'key' };

/** Every key that names a file the daemon reads: the names of the credentials it looks for. */
export const FILE_KEYS = [
  'smtp.tls.key',
  'smtp.tls.cert',
  'smpp.tls.ca',
  ...Object.keys(PG_FILE_PARAMS).map((p) => `spool.url.${p}`),
];

function spoolUrl(config: Config): URL | undefined {
  if (config.spool.backend !== 'postgres' || config.spool.url === null) return undefined;
  try {
    return new URL(config.spool.url);
  } catch {
    return undefined; // the schema has refused it already
  }
}

/** The files this config makes the daemon read, in the order a reader meets them in the config. */
export function namedFiles(config: Config): NamedFile[] {
  const files: NamedFile[] = [];
  const { tls } = config.smtp;
  if (tls.key !== null) files.push({ key: 'smtp.tls.key', path: tls.key, kind: 'key' });
  if (tls.cert !== null) files.push({ key: 'smtp.tls.cert', path: tls.cert, kind: 'cert' });
  if (config.smpp.tls.ca !== null) files.push({ key: 'smpp.tls.ca', path: config.smpp.tls.ca, kind: 'ca' });
  const url = spoolUrl(config);
  for (const [param, kind] of Object.entries(PG_FILE_PARAMS)) {
    const path = url?.searchParams.get(param);
    if (path) files.push({ key: `spool.url.${param}`, path, kind });
  }
  return files;
}

/** A file taken from a systemd credential instead of the path in the config. */
export interface CredentialUse {
  key: string;
  configured: string;
  credential: string;
}

/** A credential with content: not absent, not empty, not only blanks (the unit's `SetCredential=<key>:\n`). */
function hasContent(path: string): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile() || st.size === 0) return false;
  if (st.size > 64) return true;
  try {
    return /\S/.test(readFileSync(path, 'latin1'));
  } catch {
    return true; // unreadable: taken, so the file check names it
  }
}

/**
 * The config with every file key that has a credential (in env.CREDENTIALS_DIRECTORY, named after the key)
 * pointing at the credential. Without the variable the config is returned as it is.
 */
export function withCredentials(
  config: Config,
  env: NodeJS.ProcessEnv,
): { config: Config; used: CredentialUse[]; unused: string[] } {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) return { config, used: [], unused: [] };
  const out = structuredClone(config);
  const used: CredentialUse[] = [];
  const take = (key: string, configured: string): string => {
    const credential = join(dir, key);
    if (!hasContent(credential)) return configured;
    used.push({ key, configured, credential });
    return credential;
  };
  if (out.smtp.tls.key !== null) out.smtp.tls.key = take('smtp.tls.key', out.smtp.tls.key);
  if (out.smtp.tls.cert !== null) out.smtp.tls.cert = take('smtp.tls.cert', out.smtp.tls.cert);
  if (out.smpp.tls.ca !== null) out.smpp.tls.ca = take('smpp.tls.ca', out.smpp.tls.ca);
  const url = spoolUrl(out);
  if (url) {
    for (const param of Object.keys(PG_FILE_PARAMS)) {
      const path = url.searchParams.get(param);
      if (path) url.searchParams.set(param, take(`spool.url.${param}`, path));
    }
    if (used.some((u) => u.key.startsWith('spool.url.'))) out.spool.url = url.href;
  }
  // A credential loaded for a key the config leaves unset is not used: say so rather than ignore it quietly.
  const named = new Set(namedFiles(config).map((f) => f.key));
  const unused = FILE_KEYS.filter((key) => !named.has(key) && hasContent(join(dir, key))).map(
    (key) => `${key}: not set, so the systemd credential ${key} is not used`,
  );
  return { config: out, used, unused };
}

const CODES: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  EROFS: 'read-only file system',
};

function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  return code && CODES[code] ? `${CODES[code]} (${code})` : (err as Error).message;
}

/** Under the systemd unit (DynamicUser) a root-only file is read through a credential: say how. */
function hint(key: string, path: string, err: unknown): string {
  if ((err as { code?: string }).code !== 'EACCES') return '';
  return `; under the systemd unit give it to the daemon with LoadCredential=${key}:${path} (README "Operating it")`;
}

function contentProblem(kind: FileKind, data: Buffer): string | undefined {
  try {
    if (kind === 'key') createPrivateKey(data);
    else new X509Certificate(data);
    return undefined;
  } catch (e) {
    const what = kind === 'key' ? 'a PEM private key (without a passphrase)' : 'a PEM certificate';
    return `not ${what}: ${(e as Error).message}`;
  }
}

/**
 * Every file the daemon will read, opened and read now; a key and certificate of one pair must match. Returns one
 * problem per file, each starting with its key.
 */
export function fileProblems(config: Config): string[] {
  const problems: string[] = [];
  const read = new Map<string, Buffer>();
  for (const f of namedFiles(config)) {
    let data: Buffer;
    try {
      data = readFileSync(f.path);
    } catch (err) {
      problems.push(`${f.key}: ${f.path}: ${describe(err)}${hint(f.key, f.path, err)}`);
      continue;
    }
    const bad = contentProblem(f.kind, data);
    if (bad) problems.push(`${f.key}: ${f.path}: ${bad}`);
    else read.set(f.key, data);
  }
  for (const [keyKey, certKey] of [
    ['smtp.tls.key', 'smtp.tls.cert'],
    ['spool.url.sslkey', 'spool.url.sslcert'],
  ] as const) {
    const key = read.get(keyKey);
    const cert = read.get(certKey);
    if (key && cert && !new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)))
      problems.push(`${keyKey}: the key does not belong to the certificate in ${certKey}`);
  }
  const spool = spoolProblem(config);
  if (spool) problems.push(spool);
  return problems;
}

/**
 * The SQLite spool: the file, when there, readable and writable; its directory (or the nearest one on its path
 * that exists: the daemon makes the rest) one where the file, its -wal and -shm files and its lock can be made.
 */
function spoolProblem(config: Config): string | undefined {
  const { path } = config.spool;
  if (config.spool.backend !== 'sqlite' || path === ':memory:') return undefined;
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) return `spool.path: ${path}: is a directory (give a file name)`;
    if (st) accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    return `spool.path: ${path}: ${describe(err)}`;
  }
  let dir = dirname(path);
  try {
    while (!statSync(dir, { throwIfNoEntry: false })) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) return `spool.path: ${path}: ${dir} is not a directory`;
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    return `spool.path: ${path}: cannot write in ${dir}: ${describe(err)}`;
  }
}

/**
 * The config as the daemon runs it: credentials in place of the files they stand for, and every file checked.
 * Throws ConfigError with one line per file problem, each naming its key.
 */
export function runnableConfig(
  config: Config,
  env: NodeJS.ProcessEnv,
  source: string,
): { config: Config; used: CredentialUse[]; warnings: string[] } {
  const { config: runnable, used, unused } = withCredentials(config, env);
  const problems = fileProblems(runnable);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return { config: runnable, used, warnings: unused };
}
