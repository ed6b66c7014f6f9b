/**
 * HTML → the text a person reads on a phone. Monitoring mailers (Zabbix, Grafana, Jenkins, Alertmanager) put their
 * facts in tables: each row is one line with its cells apart (" | "), headings, paragraphs, list items and <br>
 * start lines, and nothing that is not text reaches the SMS (CSS, scripts, comments, images, link URLs).
 */
import { convert } from 'html-to-text';
import { ReplyError } from '../errors.js';
import { capNesting, HTML_MAX_ELEMENTS, HTML_MAX_NESTING } from './html-depth.js';

/** Between the cells of a row: unambiguous where a cell holds ":" or "," (a GSM extension char: 2 septets). */
export const CELL_SEPARATOR = ' | ';

/** Marks a cell's start while converting (a private-use code point that mail text does not carry). */
const CELL_MARK = '\uE000';

/** Blocks start a line of their own; no blank lines between them (an SMS pays for every character). */
const LINE = { leadingLineBreaks: 1, trailingLineBreaks: 1 };

const SKIP = ['head', 'title', 'style', 'script', 'noscript', 'template', 'img', 'svg', 'object', 'iframe'];

/** One line per row: the row's non-empty cells joined by the separator; empty cells (layout spacers) go. */
function joinCells(line: string): string {
  if (!line.includes(CELL_MARK)) return line;
  return line
    .split(CELL_MARK)
    .map((cell) => cell.trim())
    .filter((cell) => cell !== '')
    .join(CELL_SEPARATOR);
}

/** HTML → readable SMS text; throws 550 5.6.0 for HTML it will not convert. */
export function htmlToSmsText(html: string): string {
  const { html: bounded, elements } = capNesting(html.replaceAll(CELL_MARK, ''));
  if (elements > HTML_MAX_ELEMENTS) {
    throw new ReplyError(550, '5.6.0', `HTML body has too many elements (${elements}, at most ${HTML_MAX_ELEMENTS}); send text/plain`);
  }
  const text = convert(bounded, {
    wordwrap: false,
    // capNesting keeps the tree shallower than this; the limit only guards html-to-text's recursion.
    limits: { maxDepth: HTML_MAX_NESTING * 2 },
    formatters: {
      cell(elem, walk, builder) {
        builder.addLiteral(CELL_MARK);
        walk(elem.children, builder);
      },
    },
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      ...SKIP.map((selector) => ({ selector, format: 'skip' })),
      ...['table', 'thead', 'tbody', 'tfoot', 'tr'].map((selector) => ({ selector, format: 'block', options: LINE })),
      { selector: 'td', format: 'cell' },
      { selector: 'th', format: 'cell' },
      { selector: 'ul', options: { itemPrefix: '- ', ...LINE } },
      { selector: 'ol', options: LINE },
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({
        selector,
        options: { uppercase: false, ...LINE },
      })),
      { selector: 'p', options: LINE },
      { selector: 'hr', format: 'block', options: LINE },
    ],
  });
  return text
    .split('\n')
    .map(joinCells)
    .join('\n')
    .replace(/[ \u00A0]*\u00A0[ \u00A0]*/g, ' ');
}
