/**
 * HTML → the text a person reads on a phone. Monitoring mailers (Zabbix, Grafana, Jenkins, Alertmanager) put their
 * facts in tables: each row is one line with its cells apart (" | "), headings, paragraphs, list items and <br>
 * start lines, and nothing that is not text reaches the SMS (CSS, scripts, comments, images, link URLs). What a reader
 * of the mail does not see as text is left out too: hidden preheaders, buttons (a control without its URL says nothing
 * on a phone), template icons drawn as emoji; a signature the mail client marks becomes a "-- " line for clean.ts.
 */
import { convert } from 'html-to-text';
import { ReplyError } from '../errors.js';
import { replies } from '../replies.js';
import { capNesting, HTML_MAX_ELEMENTS, HTML_MAX_NESTING } from './html-depth.js';

/** Between the cells of a row: unambiguous where a cell holds ":" or "," (a GSM extension char: 2 septets). */
export const CELL_SEPARATOR = ' | ';

/** Marks a cell's start while converting (a private-use code point that mail text does not carry). */
const CELL_MARK = '\uE000';

/**
 * Marks a <br> while converting. As in a browser, a <br> that ends a block (Alertmanager's "Source<br></td>",
 * Grafana's description lines) ends the line only; html-to-text would add an empty line after it.
 */
const BR_MARK = '\uE001';

/** Blocks start a line of their own; no blank lines between them (an SMS pays for every character). */
const LINE = { leadingLineBreaks: 1, trailingLineBreaks: 1 };

const SKIP = ['head', 'title', 'style', 'script', 'noscript', 'template', 'img', 'svg', 'object', 'iframe'];

/**
 * Never shown: preheaders (the inbox preview line, e.g. Grafana's "1 firing alert instance") and other elements the
 * template hides. An attribute selector outranks the tag selectors below, so a hidden <td> or <p> is skipped too.
 */
const HIDDEN = ['[hidden]', '[style*="display:none" i]', '[style*="display: none" i]'];

/**
 * Links drawn as buttons ("View alert", "View in Alertmanager", "Silence"): their URL is all they carry, and URLs do
 * not go to the phone (Grafana's four buttons' URLs would take its alert from 3 parts to 7, past sms.max_parts), so
 * the label alone would be a word that leads nowhere. Mailgun-style templates mark them with a class, MJML (Grafana)
 * with an inline-block link on a background, hand-made templates with a link on a background with padding.
 */
const BUTTONS = [
  'a[class*="btn" i]',
  'a[class*="button" i]',
  'a[role="button" i]',
  'a[style*="inline-block"][style*="background"]',
  'a[style*="background" i][style*="padding" i]',
];

/** Where a client's signature starts: Outlook's bookmark (Word HTML) and Outlook on the web's signature block. */
const SIGNATURE_STARTS = ['a[name="_MailAutoSig" i]', '[id="Signature" i]'];

/** The "-- " line clean.ts cuts a signature at (RFC 3676). */
const SIGNATURE_LINE = '-- ';

/**
 * Emoji shown as pictures (📁 🔥 ✅ ⚠️), with their joiners and skin tones: icons of the template, like the images
 * left out above, and one of them makes the whole SMS UCS-2 (70 characters a part instead of 160).
 */
const PICTOGRAPHS = /(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|[\u200D\uFE0F])+ ?/gu;

/**
 * One line per row: the row's non-empty cells joined by the separator; empty cells (layout spacers) go, and a row of
 * nothing but empty cells (a layout table's frame around nested tables) is no line at all. A cell that ends in ":"
 * labels the next one ("Project: backend-api"): a space joins them.
 */
function joinCells(line: string): string | undefined {
  if (!line.includes(CELL_MARK)) return line;
  const cells = line
    .split(CELL_MARK)
    .map((cell) => cell.trim())
    .filter((cell) => cell !== '');
  if (cells.length === 0) return undefined;
  return cells.reduce((row, cell) => `${row}${row.endsWith(':') ? ' ' : CELL_SEPARATOR}${cell}`);
}

/** HTML → readable SMS text; throws 550 5.6.0 for HTML it will not convert. */
export function htmlToSmsText(html: string): string {
  const { html: bounded, elements } = capNesting(html.replaceAll(CELL_MARK, '').replaceAll(BR_MARK, ''));
  if (elements > HTML_MAX_ELEMENTS) {
    throw new ReplyError(replies.htmlTooManyElements(elements, HTML_MAX_ELEMENTS));
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
      br(_elem, _walk, builder) {
        builder.addLiteral(BR_MARK);
      },
      signature(elem, walk, builder) {
        builder.openBlock(LINE);
        builder.addLiteral(SIGNATURE_LINE);
        builder.closeBlock(LINE);
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
      { selector: 'br', format: 'br' },
      ...[...HIDDEN, ...BUTTONS].map((selector) => ({ selector, format: 'skip' })),
      ...SIGNATURE_STARTS.map((selector) => ({ selector, format: 'signature' })),
    ],
  });
  return text
    .replace(PICTOGRAPHS, '')
    .replace(/ *\uE001 *(?=\n|$)/g, '')
    .replace(/ *\uE001 */g, '\n')
    .split('\n')
    .map(joinCells)
    .filter((line) => line !== undefined)
    .join('\n')
    .replace(/[ \u00A0]*\u00A0[ \u00A0]*/g, ' ');
}
