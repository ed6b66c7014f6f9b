/**
 * spool.url: what is wrong with it, and how to show it. A URL may carry the database password, so nothing here
 * (config errors, logs, start-up refusals) ever prints one: every echo goes through maskUrl.
 */

const SCHEMES = new Set(['postgres:', 'postgresql:']);

/** The URL with its password replaced by ***; text that is no URL is not echoed at all. */
export function maskUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '(not a URL)';
  }
  if (url.password !== '') url.password = '***';
  return url.href;
}

/** Why `text` cannot be a PostgreSQL spool URL, or undefined when it can. */
export function postgresUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL; expected postgres://user:password@host:5432/database';
  }
  const shown = maskUrl(text);
  if (!SCHEMES.has(url.protocol)) {
    const scheme = url.protocol.replace(/:$/, '');
    return `scheme ${scheme} is not postgres; expected postgres://user:password@host:5432/database (got ${shown})`;
  }
  if (url.hostname === '') return `no host; expected postgres://user:password@host:5432/database (got ${shown})`;
  if (url.pathname.replace(/^\//, '') === '') {
    return `no database name; expected …/database at the end (got ${shown})`;
  }
  return undefined;
}

/** The URL with spool.password put in (it wins over one written in the URL). */
export function withPassword(text: string, password: string | undefined): string {
  if (password === undefined) return text;
  const url = new URL(text);
  url.password = encodeURIComponent(password);
  return url.href;
}
