/**
 * Who is asking: the same accounts as SMTP AUTH (smtp.auth.users), by the sign-in form, HTTP Basic, or a Bearer
 * token `<username>:<token>` checked against that user's api_token_hash (the name picks the one hash to check, so a
 * wrong token costs one scrypt, not one per user). Failures are slowed down per client IP like failed SMTP AUTH.
 * A SIGHUP reload replaces the accounts here too (`replace`): a removed user, or one whose password changed, is
 * refused at once, by header and by session.
 */
import { createHash } from 'node:crypto';
import { authenticate, AuthThrottle, sameCredentials, verifyHash, type AuthUser } from '../smtp/auth.js';
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

/**
 * What a web session keeps: who signed in, and the stamp of the password they signed in with. A reload that
 * removes the user or changes their password gives no entry with that stamp, so the session no longer counts.
 */
export interface SignIn {
  username: string;
  stamp: number;
}

interface Entry {
  user: WebUser;
  /** Changes when the password (or its hash) does; kept across reloads otherwise. */
  stamp: number;
}

export class Accounts {
  readonly throttle = new AuthThrottle();
  /** sha256 of an Authorization header that verified → whose and when; emptied by every reload. */
  private readonly checked = new Map<string, { username: string; at: number }>();
  private entries = new Map<string, Entry>();
  private stamps = 0;
  /** Counts reloads: a header checked across one is not cached (it was checked against the old users). */
  private generation = 0;

  constructor(
    users: readonly WebUser[],
    private readonly now: () => number = Date.now,
  ) {
    this.replace(users);
  }

  /** Take a reloaded smtp.auth.users: sign-in, sessions, Basic and Bearer follow it from now on. */
  replace(users: readonly WebUser[]): void {
    const next = new Map<string, Entry>();
    for (const user of users) {
      if (next.has(user.username)) continue; // the first one counts, as for SMTP AUTH
      const old = this.entries.get(user.username);
      next.set(user.username, { user, stamp: old && sameCredentials(old.user, user) ? old.stamp : ++this.stamps });
    }
    this.entries = next;
    this.checked.clear();
    this.generation++;
  }

  /** The viewer a session's sign-in stands for now (admin as configured now), or undefined if it no longer counts. */
  viewer(signIn: SignIn | undefined): Viewer | undefined {
    const entry = signIn && this.entries.get(signIn.username);
    return entry && entry.stamp === signIn.stamp ? viewerOf(entry.user) : undefined;
  }

  /** Checks a password; a reload while scrypt ran that removed the user or changed the password makes it fail. */
  async password(username: string, password: string): Promise<SignIn | undefined> {
    const entry = this.entries.get(username);
    const user = await authenticate(entry ? [entry.user] : [], username, password);
    return user && entry && this.entries.get(username)?.stamp === entry.stamp
      ? { username, stamp: entry.stamp }
      : undefined;
  }

  async token(username: string, token: string): Promise<Viewer | undefined> {
    const hash = this.entries.get(username)?.user.api_token_hash;
    // Unknown users cost a hash too (no timing oracle for names).
    const ok = await verifyHash(token, hash ?? DUMMY);
    // A reload while scrypt ran that removed the user or changed the token makes it fail.
    const current = this.entries.get(username)?.user;
    return ok && current && hash !== undefined && current.api_token_hash === hash ? viewerOf(current) : undefined;
  }

  /** An Authorization header (Basic or Bearer) → the viewer, or undefined when it does not verify. */
  async header(value: string): Promise<Viewer | undefined> {
    const key = createHash('sha256').update(value).digest('base64');
    const hit = this.checked.get(key);
    const user = hit && this.entries.get(hit.username)?.user;
    if (hit && user && this.now() - hit.at < CACHE_MS) return viewerOf(user);
    const generation = this.generation;
    const viewer = await this.verifyHeader(value);
    if (viewer && generation === this.generation) {
      if (this.checked.size >= CACHE_MAX) this.checked.delete(this.checked.keys().next().value as string);
      this.checked.set(key, { username: viewer.username, at: this.now() });
    }
    return viewer;
  }

  private async verifyHeader(value: string): Promise<Viewer | undefined> {
    const [scheme, credentials = ''] = value.trim().split(/\s+/, 2);
    if (/^basic$/i.test(scheme ?? '')) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon < 0
        ? undefined
        : this.viewer(await this.password(decoded.slice(0, colon), decoded.slice(colon + 1)));
    }
    if (/^bearer$/i.test(scheme ?? '')) {
      const colon = credentials.indexOf(':');
      return colon < 0 ? undefined : this.token(credentials.slice(0, colon), credentials.slice(colon + 1));
    }
    return undefined;
  }
}

function viewerOf(user: WebUser): Viewer {
  return { username: user.username, admin: user.admin === true };
}

const DUMMY = `scrypt$16384$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;
