/**
 * SMTP AUTH against smtp.auth.users: scrypt hashes made by `smtp2sms hash-password`, plaintext tolerated (with
 * a check-config warning), and failures slowed down per client IP so a password cannot be guessed at line speed.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$salt$hash` (salt and hash base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyHash(password: string, encoded: string): Promise<boolean> {
  const [tag, n, r, p, salt, hash] = encoded.split('$');
  if (tag !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(key, expected);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Passwords cross the wire in clear without TLS: allowed from loopback, elsewhere only when configured. */
export function cleartextAuthAllowed(secure: boolean, loopback: boolean, allowCleartext: boolean): boolean {
  return secure || loopback || allowCleartext;
}

export interface AuthUser {
  username: string;
  password?: string | undefined;
  password_hash?: string | undefined;
  source_addr?: string | undefined;
  allowed_senders: string[];
}

/** Whether signing in as `a` and as `b` takes the same password (a new one, or a new hash of it, counts as new). */
export function sameCredentials(a: AuthUser, b: AuthUser): boolean {
  return a.password === b.password && a.password_hash === b.password_hash;
}

/** What a reload does to the accounts, by name (never a password or hash). Each list is sorted. */
export interface UserChanges {
  added: string[];
  removed: string[];
  /** In both lists with any setting different (password, hash, senders, admin, API token). */
  changed: string[];
  /** Must sign in on the web again: removed, or their password (or its hash) changed. */
  signInAgain: string[];
}

/** A user's settings as one text, whatever order its keys came in; an unset key is as absent. */
function settingsOf(user: AuthUser): string {
  return JSON.stringify(
    Object.entries(user)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : 1)),
  );
}

/**
 * How `after` differs from `before`. A name given twice counts once, as its first entry: the one AUTH and the web
 * check (`users.find`).
 */
export function userChanges(before: readonly AuthUser[], after: readonly AuthUser[]): UserChanges {
  const byName = (users: readonly AuthUser[]) => {
    const m = new Map<string, AuthUser>();
    for (const u of users) if (!m.has(u.username)) m.set(u.username, u);
    return m;
  };
  const a = byName(before);
  const b = byName(after);
  const sorted = (names: Iterable<string>) => [...names].sort();
  const removed = sorted([...a.keys()].filter((n) => !b.has(n)));
  const kept = [...a.keys()].filter((n) => b.has(n));
  const changed = sorted(kept.filter((n) => settingsOf(a.get(n)!) !== settingsOf(b.get(n)!)));
  return {
    added: sorted([...b.keys()].filter((n) => !a.has(n))),
    removed,
    changed,
    signInAgain: sorted([...removed, ...changed.filter((n) => !sameCredentials(a.get(n)!, b.get(n)!))]),
  };
}

/** The user these credentials belong to, or undefined. Unknown users cost a hash too (no timing oracle). */
export async function authenticate(
  users: readonly AuthUser[],
  username: string,
  password: string,
): Promise<AuthUser | undefined> {
  const user = users.find((u) => u.username === username);
  if (!user) {
    await verifyHash(password, DUMMY_HASH);
    return undefined;
  }
  const ok =
    user.password_hash !== undefined
      ? await verifyHash(password, user.password_hash)
      : sameText(password, user.password ?? '');
  return ok ? user : undefined;
}

const DUMMY_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

export interface ThrottleOptions {
  /** Delay after the first failure; doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A client with no failure for this long starts afresh. */
  forgetAfterMs: number;
  /** Most client IPs remembered (oldest forgotten first). */
  maxEntries: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  baseDelayMs: 500,
  maxDelayMs: 15_000,
  forgetAfterMs: 15 * 60_000,
  maxEntries: 10_000,
};

/** Per-IP failure counter: how long to wait before answering a failed AUTH. */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  constructor(
    private readonly opts: ThrottleOptions = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Record a failure and return the delay (ms) to impose on this answer. */
  fail(ip: string): number {
    const t = this.now();
    const prev = this.failures.get(ip);
    const count = prev && t - prev.last < this.opts.forgetAfterMs ? prev.count + 1 : 1;
    this.failures.delete(ip);
    this.failures.set(ip, { count, last: t });
    if (this.failures.size > this.opts.maxEntries) this.failures.delete(this.failures.keys().next().value as string);
    return Math.min(this.opts.baseDelayMs * 2 ** (count - 1), this.opts.maxDelayMs);
  }

  succeed(ip: string): void {
    this.failures.delete(ip);
  }
}
