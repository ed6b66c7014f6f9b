/**
 * HTML with its element nesting capped, before html-to-text parses it. htmlparser2 (10.x to 12.0, the parser under
 * html-to-text) keeps its open-element stack innermost-first with Array#unshift/shift, so every tag costs the depth
 * it is opened at: 400,000 unclosed `<b>` (1.2 MB) took 55 s, and one such mail froze the thread it was parsed on
 * (fb55/htmlparser2 PR #2481, unreleased). Like browsers (Chromium stops nesting at 512), tags that would open
 * deeper than the cap are left out and their text goes to the deepest element kept; with the depth bounded,
 * htmlparser2's own cost per tag is bounded too and the whole parse is linear.
 *
 * The pass runs htmlparser2's Tokenizer (linear) and tracks the open elements with the Parser's rules for void
 * elements, implied closes of table/list/paragraph elements and end tags, so it drops only what the Parser would
 * otherwise have opened past the cap.
 */
import { Tokenizer } from 'htmlparser2';

const VOID = new Set([
  'area',
  'base',
  'basefont',
  'br',
  'col',
  'command',
  'embed',
  'frame',
  'hr',
  'img',
  'input',
  'isindex',
  'keygen',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

/** Raw-text elements: left in, whatever the depth, so that their content is never read as text. */
const RAW_TEXT = new Set(['script', 'style', 'title', 'textarea', 'xmp']);

const P = new Set(['p']);
const BLOCKS_CLOSING_P = [
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'address',
  'article',
  'aside',
  'blockquote',
  'details',
  'div',
  'dl',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hr',
  'main',
  'nav',
  'ol',
  'pre',
  'section',
  'table',
  'ul',
];

/** The part of htmlparser2's openImpliesClose that lets lazily closed lists, tables and paragraphs stay flat. */
const IMPLIES_CLOSE = new Map<string, Set<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['li', new Set(['li'])],
  ['p', P],
  ['option', new Set(['option'])],
  ['dd', new Set(['dd', 'dt'])],
  ['dt', new Set(['dd', 'dt'])],
  ['tbody', new Set(['thead', 'tbody'])],
  ['tfoot', new Set(['thead', 'tbody'])],
  ...BLOCKS_CLOSING_P.map((name): [string, Set<string>] => [name, P]),
]);

/** Deepest element nesting kept. Real mail nests a few dozen deep (Outlook's tables within tables: ~30). */
export const HTML_MAX_NESTING = 100;

/**
 * Most elements an HTML body may have. A long alert has a few hundred; html-to-text spends ~2 µs on each, so a
 * hostile body cannot hold a thread for more than a fraction of a second.
 */
export const HTML_MAX_ELEMENTS = 50_000;

export interface CappedHtml {
  /** The HTML with the start tags of elements nested deeper than the cap cut out; the text stays. */
  html: string;
  /** Start tags kept: what html-to-text will work through. */
  elements: number;
}

/** Cut the start tags that would nest deeper than `maxDepth`, and count the elements. */
export function capNesting(html: string, maxDepth = HTML_MAX_NESTING): CappedHtml {
  const open: string[] = [];
  let elements = 0;
  /** Source ranges [from, to) to leave out, in order. */
  const cuts: number[] = [];
  let tagStart = -1;
  let dropTag = false;
  let raw = false;
  const tokenizer = new Tokenizer(
    { decodeEntities: false },
    {
      onopentagname(start, end) {
        const name = html.slice(start, end).toLowerCase();
        tagStart = start - 1;
        const implied = IMPLIES_CLOSE.get(name);
        if (implied) while (open.length > 0 && implied.has(open[open.length - 1] as string)) open.pop();
        raw = RAW_TEXT.has(name);
        dropTag = !raw && !VOID.has(name) && open.length >= maxDepth;
        if (!dropTag) elements++;
        if (!dropTag && !VOID.has(name)) open.push(name);
      },
      onopentagend(end) {
        if (dropTag) cuts.push(tagStart, end + 1);
        dropTag = false;
      },
      onselfclosingtag(end) {
        // HTML ignores the slash of a non-void element: it stays open, as in htmlparser2.
        if (dropTag) cuts.push(tagStart, end + 1);
        dropTag = false;
      },
      onclosetag(start, end) {
        // As htmlparser2: an end tag closes up to its element if open, else nothing. The search is bounded by
        // maxDepth; an end tag whose start tag was dropped closes a kept element of that name (tag soup).
        const at = open.lastIndexOf(html.slice(start, end).toLowerCase());
        if (at !== -1) open.length = at;
      },
      onattribdata() {},
      onattribentity() {},
      onattribend() {},
      onattribname() {},
      oncdata() {},
      oncomment() {},
      ondeclaration() {},
      onend() {},
      onprocessinginstruction() {},
      ontext() {},
      ontextentity() {},
    },
  );
  tokenizer.write(html);
  tokenizer.end();
  if (cuts.length === 0) return { html, elements };
  const kept: string[] = [];
  let from = 0;
  for (let i = 0; i < cuts.length; i += 2) {
    kept.push(html.slice(from, cuts[i]));
    from = cuts[i + 1] as number;
  }
  kept.push(html.slice(from));
  return { html: kept.join(''), elements };
}
