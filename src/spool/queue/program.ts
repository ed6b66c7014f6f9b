/**
 * The spool's algorithms are written once, as programs: generator functions that yield each SQL statement they
 * need and get its result back. A program decides which statements run, in what order, and what their results
 * mean; it does no I/O. Each driver runs programs its own way: SQLite's synchronously inside one write of its
 * group commit (better-sqlite3 is synchronous, and a promise per statement would cost a mail's CPU several times
 * over), PostgreSQL's by awaiting each statement on the transaction's connection. That is why this is a generator
 * and not an async function over a connection: one algorithm, run by a synchronous and an asynchronous engine.
 *
 * Statements are written with the `sql` tag: each value becomes a `?` placeholder (the PostgreSQL driver numbers
 * them `$1`…), and a Fragment (an engine's own spelling of something, with its values) is spliced in as it is.
 */

export class Fragment {
  constructor(
    readonly sql: string,
    readonly params: readonly unknown[] = [],
  ) {}
}

/** A statement is a fragment that is run. */
export type Stmt = Fragment;

/** SQL text with its values in order: `${value}` is a placeholder, `${fragment}` is spliced in. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Fragment {
  let text = strings[0] ?? '';
  const params: unknown[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v instanceof Fragment) {
      text += v.sql;
      params.push(...v.params);
    } else {
      text += '?';
      params.push(v);
    }
    text += strings[i + 1] ?? '';
  }
  return new Fragment(text, params);
}

/** Text as it is (a column name, a keyword): never a value from outside. */
export const raw = (text: string): Fragment => new Fragment(text);

/** `?, ?, ?` for a list of values (an IN list). */
export const list = (values: readonly unknown[]): Fragment => new Fragment(values.map(() => '?').join(', '), values);

export interface StmtResult {
  rows: Record<string, unknown>[];
  /** Rows inserted, updated or deleted. */
  changes: number;
  /** The id of the row an INSERT made, where the engine tells it without RETURNING (SQLite). */
  lastId?: number;
}

export type Program<T> = Generator<Stmt, T, StmtResult>;

/**
 * Run a statement; its rows. Column values come as the engine gives them (SQLite: numbers and JSON text;
 * PostgreSQL: int8 as strings, jsonb as values): read them with Number() and json().
 */
export function* query<R = Record<string, unknown>>(stmt: Stmt): Program<R[]> {
  return (yield stmt).rows as R[];
}

/** Run a statement; how many rows it changed. */
export function* exec(stmt: Stmt): Program<number> {
  return (yield stmt).changes;
}

/** The first row, or undefined. */
export function* first<R = Record<string, unknown>>(stmt: Stmt): Program<R | undefined> {
  return (yield* query<R>(stmt))[0];
}

/** A JSON column's value: text from SQLite, already parsed from PostgreSQL's jsonb. */
export const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

/** A nullable integer column (int8 comes from PostgreSQL as a string). */
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Run a program with a synchronous executor (SQLite). */
export function runSync<T>(program: Program<T>, run: (s: Stmt) => StmtResult): T {
  let step = program.next();
  while (!step.done) step = program.next(run(step.value));
  return step.value;
}

/** Run a program with an asynchronous executor (PostgreSQL). */
export async function runAsync<T>(program: Program<T>, run: (s: Stmt) => Promise<StmtResult>): Promise<T> {
  let step = program.next();
  while (!step.done) step = program.next(await run(step.value));
  return step.value;
}
