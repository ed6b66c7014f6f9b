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
