/**
 * Reading the configuration: a YAML file, then SMTP2SMS_* environment variables (secrets stay out of the file),
 * validated by the schema. Every problem names its key path.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { z } from 'zod';
import { maskUrl } from './postgres-url.js';
import { configSchema, SECRET_KEYS, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const ENV_PREFIX = 'SMTP2SMS_';
/** Variables with the prefix that are not config keys. */
const ENV_RESERVED = new Set(['SMTP2SMS_CONFIG']);

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc === '' ? String(key) : `${acc}.${String(key)}`;
  }, '');
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The schema under defaults, optionals and transforms: what kind of value the key holds. */
function bare(schema: z.ZodType): { type: string; shape?: Record<string, z.ZodType>; nullable: boolean } {
  let s = schema;
  let nullable = false;
  for (;;) {
    const def = defOf(s);
    if (def.type === 'nullable') nullable = true;
    if (['default', 'prefault', 'optional', 'nullable'].includes(def.type) && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return { type: def.type, ...(def.shape ? { shape: def.shape } : {}), nullable };
  }
}

/** Map SMTP2SMS_SMTP_AUTH_REQUIRED to ['smtp','auth','required'] by walking the schema (keys contain '_'). */
function envPath(tokens: string[], schema: z.ZodType): { path: string[]; leaf: ReturnType<typeof bare> } | undefined {
  const node = bare(schema);
  if (tokens.length === 0) return node.type === 'object' ? undefined : { path: [], leaf: node };
  if (!node.shape) return undefined;
  for (let n = tokens.length; n >= 1; n--) {
    const key = tokens.slice(0, n).join('_');
    const child = node.shape[key];
    if (!child) continue;
    const rest = envPath(tokens.slice(n), child);
    if (rest) return { path: [key, ...rest.path], leaf: rest.leaf };
  }
  return undefined;
}

function envValue(raw: string, leaf: ReturnType<typeof bare>): unknown {
  if (leaf.nullable && raw === 'null') return null;
  switch (leaf.type) {
    case 'number': {
      const n = Number(raw);
      return raw.trim() === '' || Number.isNaN(n) ? raw : n;
    }
    case 'boolean':
      if (/^(true|yes|on|1)$/i.test(raw)) return true;
      if (/^(false|no|off|0)$/i.test(raw)) return false;
      return raw;
    case 'array':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** Apply SMTP2SMS_* variables over the file's values. Returns the problems (unknown variables). */
function applyEnv(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { problems: string[]; fromEnv: Map<string, string> } {
  const problems: string[] = [];
  const fromEnv = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || ENV_RESERVED.has(name) || value === undefined) continue;
    const tokens = name.slice(ENV_PREFIX.length).toLowerCase().split('_');
    const found = envPath(tokens, configSchema);
    if (!found) {
      problems.push(
        `${name}: no such configuration key (expected SMTP2SMS_<SECTION>_<KEY>, e.g. SMTP2SMS_SMPP_PASSWORD)`,
      );
      continue;
    }
    setPath(raw, found.path, envValue(value, found.leaf));
    fromEnv.set(found.path.join('.'), name);
  }
  return { problems, fromEnv };
}

/** Validate already-parsed YAML (or an object) plus the environment. Throws ConfigError. */
export function parseConfig(input: unknown, env: NodeJS.ProcessEnv = {}, source = 'config'): Config {
  if (input !== null && input !== undefined && (typeof input !== 'object' || Array.isArray(input))) {
    throw new ConfigError(source, ['(top level): expected a mapping of sections (smtp:, smpp:, sms:, …)']);
  }
  const raw = structuredClone((input ?? {}) as Record<string, unknown>);
  const { problems, fromEnv } = applyEnv(raw, env);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push(`${formatPath([...issue.path, key])}: unknown key (a typo?)`);
        continue;
      }
      const path = formatPath(issue.path);
      const envName = fromEnv.get(issue.path.join('.'));
      problems.push(`${path === '' ? '(top level)' : path}${envName ? ` (from ${envName})` : ''}: ${issue.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return (result as { data: Config }).data;
}

/** Read and validate a config file. With no path, the defaults (plus the environment) are the config. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  if (path === undefined) return parseConfig({}, env, 'defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read the file: ${(e as Error).message}`]);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      path,
      doc.errors.map((e) => `YAML: ${e.message}`),
    );
  return parseConfig(doc.toJS(), env, path);
}

/** A copy fit to print: secrets replaced by "***". */
export function maskSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v)) as T;
  // A URL's own password (spool.url: postgres://user:password@…) is as secret as a password key.
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(value)) return maskUrl(value) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      SECRET_KEYS.has(k) && typeof v === 'string' && v !== '' ? '***' : maskSecrets(v),
    ]),
  ) as T;
}

/** Things that work but an operator should change. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  config.smtp.auth.users.forEach((u, i) => {
    if (u.password !== undefined) {
      warnings.push(
        `smtp.auth.users[${i}].password: plaintext password for "${u.username}"; store a hash made by \`smtp2sms hash-password\` in password_hash`,
      );
    }
  });
  return warnings;
}
