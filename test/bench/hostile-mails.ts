/**
 * The hostile shapes of the soak (bench:hostile): what a broken or malicious sender puts inside the size limits.
 * Each body is built once and stamped with the mail's number, so no two mails are identical.
 */
export interface HostileKind {
  name: string;
  size(id: number): number;
  body(id: number): string;
}

const KB = 1024;
const head = (extra: string[]) => ['From: attacker@example.org', 'MIME-Version: 1.0', ...extra, ''].join('\r\n');

function kind(name: string, headers: string[], payload: string): HostileKind {
  const fixed = `${head(headers)}\r\n`;
  return {
    name,
    size: () => fixed.length + payload.length,
    body: (id) => `${fixed}#${id} ${payload}`,
  };
}

const lines = (text: string, width = 76) => text.replace(new RegExp(`(.{${width}})`, 'g'), '$1\r\n');

export function hostileMails(): HostileKind[] {
  const html = ['Subject: html', 'Content-Type: text/html; charset=utf-8'];
  const junk = Buffer.from(Uint8Array.from({ length: 1400 * KB }, (_, i) => (i * 7919) % 251));
  return [
    kind('HTML: `<b>` repeated (quadratic for a naive converter)', html, lines('<b>'.repeat(100_000))),
    kind('HTML: 20,000 nested `<div>`', html, lines(`${'<div>'.repeat(20_000)}x${'</div>'.repeat(20_000)}`)),
    kind(
      'HTML: a table of 20,000 cells',
      html,
      lines(`<table>${'<tr><td>a</td><td>b</td></tr>'.repeat(10_000)}</table>`),
    ),
    kind('HTML: 50,000 unclosed tags with attributes', html, lines('<a href="x" title="y" '.repeat(50_000))),
    kind(
      'HTML: 30,000 `<img>` and `<style>` tags',
      html,
      lines('<img src="http://t/x.gif"><style>p{}</style>'.repeat(30_000)),
    ),
    kind(
      'multipart: 1.4 MB of base64 junk as an attachment',
      ['Subject: attachment', 'Content-Type: multipart/mixed; boundary="b"'],
      [
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'see attachment',
        '--b',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        lines(junk.toString('base64')),
        '--b--',
        '',
      ].join('\r\n'),
    ),
    kind(
      'multipart: 2,000 parts',
      ['Subject: parts', 'Content-Type: multipart/mixed; boundary="b"'],
      `${Array.from({ length: 2000 }, (_, i) => `\r\n--b\r\nContent-Type: text/plain\r\n\r\npart ${i}`).join('')}\r\n--b--\r\n`,
    ),
    kind(
      'headers: 5,000 header lines',
      ['Subject: headers', ...Array.from({ length: 5000 }, (_, i) => `X-Junk-${i}: ${'v'.repeat(60)}`)],
      'body',
    ),
    kind('subject: 2,000 encoded words', [`Subject: ${'=?utf-8?B?0J/RgNC40LLQtdGC?= '.repeat(2000)}`], 'body'),
    kind(
      'control characters and NUL in subject and body',
      ['Subject: a\u0000b\u0007c\u001bd', 'Content-Type: text/plain; charset=utf-8'],
      `x\u0000y\u0001z\u0008\u000b\u000c\u007f ${'\u0000'.repeat(1000)}`,
    ),
    kind(
      'broken: bad base64, unknown charset, 8-bit junk',
      ['Subject: broken', 'Content-Type: text/plain; charset=x-no-such', 'Content-Transfer-Encoding: base64'],
      lines('!!!not base64%%%'.repeat(20_000)),
    ),
    kind('oversized: 2.5 MB (over smtp.max_message_bytes)', ['Subject: big'], lines('x'.repeat(2560 * KB))),
  ];
}
