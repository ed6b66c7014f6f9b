/** The config reference (every key, its default and meaning), read from the schema so docs cannot drift. */
import { configSchema } from './schema.js';

export interface KeyDoc {
  key: string;
  description: string;
  default: unknown;
}

interface Node {
  description?: string;
  _zod: { def: { type: string; innerType?: Node; in?: Node; shape?: Record<string, Node>; defaultValue?: unknown } };
}

function walk(node: Node, path: string, out: KeyDoc[], description?: string, fallback?: unknown): void {
  let s = node;
  let desc = description ?? node.description;
  let dflt = fallback;
  for (;;) {
    const def = s._zod.def;
    if (def.type === 'default' && dflt === undefined) dflt = def.defaultValue;
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner || !['default', 'prefault', 'optional', 'nullable', 'pipe'].includes(def.type)) break;
    s = inner;
    desc ??= s.description;
  }
  const shape = s._zod.def.shape;
  if (shape && s._zod.def.type === 'object') {
    for (const [k, child] of Object.entries(shape)) walk(child, path ? `${path}.${k}` : k, out);
    return;
  }
  out.push({ key: path, description: desc ?? '', default: dflt });
}

export function configReference(): KeyDoc[] {
  const out: KeyDoc[] = [];
  walk(configSchema as unknown as Node, '', out);
  return out;
}

export function configReferenceMarkdown(): string {
  const rows = configReference().map(
    (d) => `| \`${d.key}\` | ${d.default === undefined ? '' : `\`${JSON.stringify(d.default)}\``} | ${d.description.replace(/\|/g, '\\|')} |`,
  );
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
