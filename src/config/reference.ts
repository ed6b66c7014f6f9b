/** The config reference (every key, its default and meaning), read from the schema so docs cannot drift. */
import { z } from 'zod';
import { configSchema } from './schema.js';

export interface KeyDoc {
  key: string;
  description: string;
  default: unknown;
  /** Words for a default worked out where the program runs (the host name): its value here would mislead. */
  defaultText?: string;
  /** A field of a list entry that has no default: each entry must give it. */
  required?: boolean;
}

interface Node {
  description?: string;
  _zod: {
    def: {
      type: string;
      innerType?: Node;
      in?: Node;
      element?: Node;
      shape?: Record<string, Node>;
      defaultValue?: unknown;
    };
  };
}

/** `.meta({ defaultDoc })` in the schema: how the reference words a default. */
function defaultDoc(node: Node): string | undefined {
  const meta = z.globalRegistry.get(node as unknown as z.ZodType) as { defaultDoc?: unknown } | undefined;
  return typeof meta?.defaultDoc === 'string' ? meta.defaultDoc : undefined;
}

function walk(node: Node, path: string, out: KeyDoc[], inList = false): void {
  let s = node;
  let desc = node.description;
  let dflt: unknown;
  let dfltText = defaultDoc(node);
  let optional = false;
  for (;;) {
    const def = s._zod.def;
    if (def.type === 'default' && dflt === undefined) dflt = def.defaultValue;
    if (def.type === 'default' || def.type === 'prefault' || def.type === 'optional') optional = true;
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner || !['default', 'prefault', 'optional', 'nullable', 'pipe'].includes(def.type)) break;
    s = inner;
    desc ??= s.description;
    dfltText ??= defaultDoc(s);
  }
  const shape = s._zod.def.shape;
  if (shape && s._zod.def.type === 'object') {
    for (const [k, child] of Object.entries(shape)) walk(child, path ? `${path}.${k}` : k, out, inList);
    return;
  }
  out.push({
    key: path,
    description: desc ?? '',
    default: dflt,
    ...(dfltText !== undefined ? { defaultText: dfltText } : {}),
    ...(inList && !optional ? { required: true } : {}),
  });
  // A list of entries (smtp.auth.users): each field of an entry gets its own row, as `key[].field`.
  const element = s._zod.def.type === 'array' ? s._zod.def.element : undefined;
  if (element) {
    const entryShape = element._zod.def.shape;
    if (entryShape) for (const [k, child] of Object.entries(entryShape)) walk(child, `${path}[].${k}`, out, true);
  }
}

export function configReference(): KeyDoc[] {
  const out: KeyDoc[] = [];
  walk(configSchema as unknown as Node, '', out);
  return out;
}

export function configReferenceMarkdown(): string {
  const shown = (d: KeyDoc) =>
    d.defaultText ?? (d.required ? 'required' : d.default === undefined ? '' : `\`${JSON.stringify(d.default)}\``);
  const rows = configReference().map((d) => `| \`${d.key}\` | ${shown(d)} | ${d.description.replace(/\|/g, '\\|')} |`);
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
