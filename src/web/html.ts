/**
 * HTML by tagged template: every interpolated value is escaped (escape-html) unless it is already Html made by
 * this tag, so a message text, subject or number can never become markup. Arrays are joined; null, undefined and
 * false render as nothing (for `cond && html\`…\``).
 */
import escapeHtml from 'escape-html';

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}
