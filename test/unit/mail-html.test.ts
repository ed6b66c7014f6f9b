/**
 * HTML-only mail as a person reads it on a phone (src/mail/html-text.ts), and hostile HTML shapes that made
 * htmlparser2 quadratic (src/mail/html-depth.ts): they convert, or are refused with 550 5.6.0, whatever their shape.
 */
import { describe, expect, it } from 'vitest';
import { capNesting, HTML_MAX_ELEMENTS, HTML_MAX_NESTING } from '../../src/mail/html-depth.js';
import { htmlToSmsText } from '../../src/mail/html-text.js';
import { parseMail } from '../../src/mail/parse.js';
import { prepareSms } from '../../src/sms/prepare.js';
import { MAIL_OPTIONS, SMS_OPTIONS } from '../helpers/options.js';

describe('HTML → SMS text', () => {
  it('table rows are lines, cells apart, empty spacer cells dropped', () => {
    const html =
      '<table><tr><th>Host</th><th>Status</th><th>Since</th></tr><tr><td>web3</td><td></td><td>DOWN</td><td>03:00</td></tr>' +
      '<tr><td>Value</td><td>12.5 &gt; 10 &amp; rising</td></tr></table>';
    expect(htmlToSmsText(html)).toBe('Host | Status | Since\nweb3 | DOWN | 03:00\nValue | 12.5 > 10 & rising');
  });

  it('headings, paragraphs, list items and <br> start lines; &nbsp; runs are one space', () => {
    expect(
      htmlToSmsText(
        '<h2>Problem</h2><p>Host&nbsp;&nbsp;web3 is <b>down</b><br>since 03:00</p><ul><li>one</li><li>two</li></ul>',
      ),
    ).toBe('Problem\nHost web3 is down\nsince 03:00\n- one\n- two');
  });

  it('no CSS, scripts, comments, images or link URLs; link texts kept', () => {
    const html =
      '<html><head><title>t</title><style>td { color: red }</style></head><body><!-- tracking -->' +
      '<script>var x = 1;</script><p>Disk full</p><img src="http://t.example/p.gif" width="1" alt="pixel">' +
      '<a href="https://grafana.example/d/1">Open dashboard</a></body></html>';
    expect(htmlToSmsText(html)).toBe('Disk full\nOpen dashboard');
  });

  it('hidden elements (preheaders) are left out', () => {
    const html =
      '<div style="display:none;font-size:1px;max-height:0px;opacity:0">1 firing alert instance</div>' +
      '<table><tr><td style="DISPLAY: NONE">preview</td><td>web3</td></tr></table><p hidden>hidden</p><p>CPU 97%</p>';
    expect(htmlToSmsText(html)).toBe('web3\nCPU 97%');
  });

  it('links drawn as buttons are left out, other link texts kept', () => {
    const html =
      '<p><a href="https://am.example/#/alerts" class="btn-primary">View in Alertmanager</a></p>' +
      '<p><a href="https://g.example/a" style="display: inline-block; background: #3D71D9; padding: 5px 12px;">' +
      'View alert</a></p>' +
      '<p><a href="https://x.example" role="button">Silence</a> <a class="Button" href="https://x.ex">Ack</a></p>' +
      '<p>Host <a href="https://g.example/h/web3" style="display:inline-block">web3</a> is down, ' +
      'see the <a href="https://r.example">runbook</a></p>';
    expect(htmlToSmsText(html)).toBe('Host web3 is down, see the runbook');
  });

  it('a layout row of empty cells is no line; a label cell ending in ":" joins its value with a space', () => {
    const html =
      '<table><tr><td></td><td><table><tr><td>BUILD FAILURE</td></tr></table></td><td></td></tr>' +
      '<tr><td><table><tr><td>Project:</td><td>backend-api</td></tr><tr><td>Host</td><td>web3</td></tr></table>' +
      '</td></tr></table>';
    expect(htmlToSmsText(html)).toBe('BUILD FAILURE\nProject: backend-api\nHost | web3');
  });

  it('a <br> that ends a block ends the line only; two <br> still leave an empty line', () => {
    expect(htmlToSmsText('<table><tr><td>a = 1<br>b = 2<br></td></tr><tr><td>Source<br /></td></tr></table>')).toBe(
      'a = 1\nb = 2\nSource',
    );
    expect(htmlToSmsText('<p>one<br> <br>  two <br></p><p>three</p>')).toBe('one\n\ntwo\nthree');
  });

  it('emoji icons are left out (one would make the SMS UCS-2); other symbols stay', () => {
    expect(
      htmlToSmsText('<h2>&#x1f4c1; Infra &rsaquo; HighCPU</h2><h3>🔥 1 firing</h3><p>⚠️ Disk ✅ ok 👍🏽, 5 € © ™</p>'),
    ).toBe('Infra › HighCPU\n1 firing\nDisk ok , 5 € © ™');
  });

  it('a signature the client marks (Outlook, Outlook on the web) starts with a "-- " line', () => {
    expect(htmlToSmsText('<p>Door alarm</p><p><a name="_MailAutoSig"><b>Anna Petrova</b></a></p><p>Facility</p>')).toBe(
      'Door alarm\n-- \nAnna Petrova\nFacility',
    );
    expect(htmlToSmsText('<div>Door alarm</div><div id="Signature"><p>Anna</p></div>')).toBe('Door alarm\n-- \nAnna');
  });

  it('text nested deeper than the cap is kept', () => {
    const depth = HTML_MAX_NESTING * 3;
    expect(htmlToSmsText(`${'<div>'.repeat(depth)}deep text${'</div>'.repeat(depth)}<p>after</p>`)).toBe(
      'deep text\nafter',
    );
  });
});

describe('a whole HTML mail → the SMS (parse, HTML → text, prepare)', () => {
  /** A hand-made alert template: the facts, then a link drawn as a button by its inline style alone. */
  const mail = [
    'From: monitor@example.org',
    'To: +79991234567@sms.example.test',
    'Subject: ALERT disk full',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<html><body><p>db1: / is 97% full</p>',
    '<p>See the <a href=3D"https://x/runbook/disk">runbook</a>.</p>',
    '<p><a href=3D"https://x/alert/1" style=3D"background:#00f;padding:10px;border-radius:4px">View alert</a></p>',
    '</body></html>',
    '',
  ].join('\r\n');

  it('a link styled as a button goes, as every button does; a link in the text keeps its words, no URL', async () => {
    const content = await parseMail(Buffer.from(mail), MAIL_OPTIONS);
    expect(content.fromHtml).toBe(true);
    const sms = prepareSms(content.text, SMS_OPTIONS);
    // Not "View alert": a label whose URL is left out leads nowhere on a phone.
    expect(sms.text).toBe('ALERT disk full\ndb1: / is 97% full\nSee the runbook.');
    expect([sms.coding, sms.smsCount]).toEqual(['gsm7', 1]);
  });

  it('a link with a background but no padding is highlighted text, not a button: its words stay', () => {
    expect(htmlToSmsText('<p>state <a href="https://x/s" style="background: yellow">CRITICAL</a></p>')).toBe(
      'state CRITICAL',
    );
  });
});

describe('hostile HTML shapes', () => {
  const n = 400_000;
  it.each([
    ['repeated <b>', `${'<b>'.repeat(n)}end`],
    ['nested <div>', `${'<div>'.repeat(n / 2)}end`],
    ['unclosed <span> with attributes', `${'<span class="a" style="b">'.repeat(n / 10)}end`],
    ['<b> closed in the wrong order', `${'<b><i>'.repeat(n / 4)}end${'</b>'.repeat(n / 4)}`],
  ])('%s: depth capped, text kept', (_name, html) => {
    // What html-to-text works through is bounded by the cap, however many tags came in.
    expect(capNesting(html).elements).toBeLessThanOrEqual(HTML_MAX_NESTING);
    expect(htmlToSmsText(html)).toMatch(/end$/);
  });

  it('many attributes on one element convert', () => {
    const attrs = Array.from({ length: 50_000 }, (_, i) => `a${i}="${i}"`).join(' ');
    expect(htmlToSmsText(`<p ${attrs}>attributes</p>`)).toBe('attributes');
  });

  it.each([
    ['many <td>', `<table><tr>${'<td>x</td>'.repeat(HTML_MAX_ELEMENTS)}</tr></table>`],
    ['many unclosed <p>', '<p>x'.repeat(HTML_MAX_ELEMENTS + 1)],
  ])('%s: refused with 550 5.6.0 past the element cap', (_name, html) => {
    expect(() => htmlToSmsText(html)).toThrow(
      expect.objectContaining({
        responseCode: 550,
        enhanced: '5.6.0',
        message: expect.stringMatching(/too many elements/),
      }),
    );
  });

  it('as many cells as the cap allows convert, one row per line', () => {
    const row = `<tr>${'<td>x</td>'.repeat(9)}</tr>`;
    const text = htmlToSmsText(`<table>${row.repeat(Math.floor(HTML_MAX_ELEMENTS / 10) - 1)}</table>`);
    expect(text.split('\n')[0]).toBe(Array(9).fill('x').join(' | '));
  });
});
