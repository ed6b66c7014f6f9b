/**
 * Who is asking: the same accounts as SMTP AUTH (smtp.auth.users), by the sign-in form, HTTP Basic, or a Bearer
 * token `<username>:<token>` checked against that user's api_token_hash (the name picks the one hash to check, so a
 * wrong token costs one scrypt, not one per user). Failures are slowed down per client IP like failed SMTP AUTH.
 */
import { createHash } from 'node:crypto';
import { authenticate, AuthThrottle, verifyHash, type AuthUser } from '../smtp/auth.js';
import type { RowScope } from '../spool/types.js';

export interface Viewer {
  username: string;
  admin: boolean;
}

export type WebUser = AuthUser & { admin: boolean; api_token_hash?: string | undefined };

export function scopeOf(v: Viewer): RowScope {
  return v.admin ? 'all' : { user: v.username };
}

/** How long a checked Authorization header is trusted without another scrypt (API clients call often). */
const CACHE_MS = 60_000;
const CACHE_MAX = 1000;

export class Accounts {
  readonly throttle = new AuthThrottle();
  /** sha256 of an Authorization header that verified → its viewer and when. */
  private readonly checked = new Map<string, { viewer: Viewer; at: number }>();

  constructor(
    private readonly users: readonly WebUser[],
    private readonly now: () => number = Date.now,
  ) {}

  private viewerOf(user: AuthUser): Viewer {
    return { username: user.username, admin: (user as WebUser).admin === true };
  }

  async password(username: string, password: string): Promise<Viewer | undefined> {
    const user = await authenticate(this.users, username, password);
    return user ? this.viewerOf(user) : undefined;
  }

  async token(username: string, token: string): Promise<Viewer | undefined> {
    const user = this.users.find((u) => u.username === username && u.api_token_hash !== undefined);
    // Unknown users cost a hash too (no timing oracle for names).
    const ok = await verifyHash(token, user?.api_token_hash ?? DUMMY);
    return ok && user ? this.viewerOf(user) : undefined;
  }

  /** An Authorization header (Basic or Bearer) → the viewer, or undefined when it does not verify. */
  async header(value: string): Promise<Viewer | undefined> {
    const key = createHash('sha256').update(value).digest('base64');
    const hit = this.checked.get(key);
    if (hit && this.now() - hit.at < CACHE_MS) return hit.viewer;
    const viewer = await this.verifyHeader(value);
    if (viewer) {
      if (this.checked.size >= CACHE_MAX) this.checked.delete(this.checked.keys().next().value as string);
      this.checked.set(key, { viewer, at: this.now() });
    }
    return viewer;
  }

  private async verifyHeader(value: string): Promise<Viewer | undefined> {
    const [scheme, credentials = ''] = value.trim().split(/\s+/, 2);
    if (/^basic$/i.test(scheme ?? '')) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon < 0 ? undefined : this.password(decoded.slice(0, colon), decoded.slice(colon + 1));
    }
    if (/^bearer$/i.test(scheme ?? '')) {
      const colon = credentials.indexOf(':');
      return colon < 0 ? undefined : this.token(credentials.slice(0, colon), credentials.slice(colon + 1));
    }
    return undefined;
  }
}

const DUMMY = `scrypt$16384$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;
