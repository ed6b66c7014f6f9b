/**
 * The list's filters from a query string (the web form and GET /api/messages read the same names), checked: a bad
 * value is a 400 naming the parameter, never a silently ignored filter.
 */
import { SMS_STATES } from '../spool/types.js';
import type { MessageFilter, RowScope, SmsRow, SmsState } from '../spool/types.js';

export const PAGE_SIZE = 50;

export class QueryError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(`${param}: ${message}`);
    this.name = 'QueryError';
  }
}

export type Query = Partial<Record<'state' | 'number' | 'since' | 'until' | 'q' | 'after' | 'limit', string>>;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A time: ms since the epoch, an ISO 8601 date-time, or a date (UTC midnight). A date as `until` means the end of
 * that day, so since=until=a day lists that day.
 */
export function parseTime(param: string, value: string, endOfDay = false): number {
  if (/^\d{1,15}$/.test(value)) return Number(value);
  const t = Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(t))
    throw new QueryError(param, `expected a date (2026-05-31), a date-time or ms since 1970, got "${value}"`);
  return DATE_ONLY.test(value) && endOfDay ? t + 86_400_000 : t;
}

/** The next page's `after`: the last row's acceptance time and id. */
export function cursorOf(row: Pick<SmsRow, 'createdAt' | 'id'>): string {
  return `${row.createdAt}.${row.id}`;
}

function parseCursor(value: string): { createdAt: number; id: number } {
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(value);
  if (!m) throw new QueryError('after', 'expected the `next` value of the previous page');
  return { createdAt: Number(m[1]), id: Number(m[2]) };
}

/** Numbers are stored as international digits: separators and a leading + or 00 are dropped. */
function parseNumber(value: string): string {
  const digits = value.replace(/[\s().-]/g, '').replace(/^(\+|00)/, '');
  if (!/^\d{3,20}$/.test(digits))
    throw new QueryError('number', `expected a phone number in international form, got "${value}"`);
  return digits;
}

/** Empty parameters (an unfilled form field) are no filter. */
export function filterFrom(q: Query, scope: RowScope): MessageFilter {
  const v = (k: keyof Query) => (q[k] === undefined || q[k].trim() === '' ? undefined : q[k].trim());
  const state = v('state');
  if (state !== undefined && !(SMS_STATES as readonly string[]).includes(state)) {
    throw new QueryError('state', `expected one of ${SMS_STATES.join(', ')}`);
  }
  const limitText = v('limit');
  const limit = limitText === undefined ? PAGE_SIZE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new QueryError('limit', 'expected 1 to 500');
  const number = v('number');
  const since = v('since');
  const until = v('until');
  const after = v('after');
  const text = v('q');
  if (text !== undefined && text.length > 200) throw new QueryError('q', 'at most 200 characters');
  return {
    scope,
    state: state as SmsState | undefined,
    recipient: number === undefined ? undefined : parseNumber(number),
    since: since === undefined ? undefined : parseTime('since', since),
    until: until === undefined ? undefined : parseTime('until', until, true),
    text,
    before: after === undefined ? undefined : parseCursor(after),
    limit,
  };
}
