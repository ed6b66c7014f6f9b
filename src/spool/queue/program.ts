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

/**
 * The texts each call site has made, by the spliced fragments' texts: a statement's text is then the same string
 * every time, so the driver's statement cache finds it by a hash already computed, and no new string is built
 * and flattened per statement (that garbage cost SQLite more CPU per mail than the programs themselves).
 */
const texts = new WeakMap<TemplateStringsArray, Map<string, string>>();
/** Call sites with no fragment: their text, and their values are the params as they are. */
const plainTexts = new WeakMap<TemplateStringsArray, string>();

/** SQL text with its values in order: `${value}` is a placeholder, `${fragment}` is spliced in. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Fragment {
  let fragments = 0;
  for (const v of values) if (v instanceof Fragment) fragments++;
  if (fragments === 0) {
    let text = plainTexts.get(strings);
    if (text === undefined) {
      text = strings.join('?');
      plainTexts.set(strings, text);
    }
    return new Fragment(text, values);
  }
  const params: unknown[] = [];
  let shape = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v instanceof Fragment) {
      shape += `${i}\u0000${v.sql}\u0000`;
      for (const p of v.params) params.push(p);
    } else params.push(v);
  }
  let bySite = texts.get(strings);
  if (!bySite) {
    bySite = new Map();
    texts.set(strings, bySite);
  }
  let text = bySite.get(shape);
  if (text === undefined) {
    text = strings[0] ?? '';
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      text += v instanceof Fragment ? v.sql : '?';
      text += strings[i + 1] ?? '';
    }
    bySite.set(shape, text);
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
 * A statement's rows, its first row, how many rows it changed: `rowsOf<R>(yield stmt)`. Column values come as
 * the engine gives them (SQLite: numbers and JSON text; PostgreSQL: int8 as strings, jsonb as values): read them
 * with Number() and json(). (A program yields its statements itself: a generator per statement to wrap the
 * yield made twice the garbage on SQLite's per-mail path.)
 */
export const rowsOf = <R = Record<string, unknown>>(r: StmtResult): R[] => r.rows as R[];
export const firstRow = <R = Record<string, unknown>>(r: StmtResult): R | undefined => r.rows[0] as R | undefined;
export const changes = (r: StmtResult): number => r.changes;

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

/**
 * Run a program with an asynchronous executor (PostgreSQL): `query` gives a driver's result (rows, rowCount), read
 * here so a statement costs one promise.
 */
export async function runAsync<T>(
  program: Program<T>,
  query: (s: Stmt) => Promise<{ rows: unknown[]; rowCount: number | null }>,
): Promise<T> {
  let step = program.next();
  while (!step.done) {
    const res = await query(step.value);
    step = program.next({ rows: res.rows as Record<string, unknown>[], changes: res.rowCount ?? 0 });
  }
  return step.value;
}
