import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PHASES, replies, replyCatalogue, repliesMarkdown, smtpServerReplies } from '../../src/replies.js';

const root = join(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('the reply catalogue', () => {
  it('the README table between its markers is what `smtp2sms replies-reference` prints', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /<!-- replies:start -->\n([\s\S]*?)\n<!-- replies:end -->/.exec(readme)?.[1];
    expect(block, 'README has the replies markers').toBeDefined();
    expect(block).toBe(repliesMarkdown());
  });

  it('every reply has a valid code, an enhanced code of the same class, a phase and a reason', () => {
    for (const d of replyCatalogue()) {
      expect(String(d.code)).toMatch(/^[2-5]\d\d$/);
      if (d.code !== 220) expect(d.enhanced[0], `${d.code} ${d.enhanced}`).toBe(String(d.code)[0]);
      expect(d.enhanced).toMatch(d.code === 220 ? /^$/ : /^[245]\.\d{1,3}\.\d{1,3}$/);
      expect(d.when.length).toBeGreaterThan(0);
      for (const w of d.when) expect(PHASES).toContain(w);
      expect(d.why.length).toBeGreaterThan(5);
    }
    expect(replyCatalogue()).toHaveLength(Object.keys(replies).length + Object.keys(smtpServerReplies).length);
  });

  it('a reply made from the catalogue carries its code and enhanced code, and the text it was given', () => {
    expect(replies.badNumber('79', 'too short')).toEqual({
      code: 550,
      enhanced: '5.1.1',
      text: 'Bad recipient number "79": too short',
    });
    expect(replies.queued('abc', 2, '1 part (GSM)', true)).toEqual({
      code: 250,
      enhanced: '2.0.0',
      text: 'Queued as abc: 2 recipients × 1 part (GSM); text cut to fit sms.max_parts',
    });
    const flood = replies.flood('79991234567', 50, 30);
    expect(replies.allRefusedForNow([flood, replies.duplicate('7999', 3, 60)])).toMatchObject({
      code: 450,
      enhanced: '4.7.1',
      text: `${flood.text}; Duplicate: an identical SMS to +7999 was accepted 3 s ago; identical messages are refused for 60 s`,
    });
  });

  it('no SMTP reply code is written by hand outside the catalogue', () => {
    // Delivery reports (delivery/dsn.ts) carry RFC 3464 statuses for what the SMSC said, not SMTP replies.
    const allowed = new Set(['src/replies.ts', 'src/delivery/dsn.ts']);
    const found: string[] = [];
    for (const file of sources(join(root, 'src'))) {
      const rel = file.slice(root.length + 1);
      if (allowed.has(rel)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\*|\/\*|\/\/)/.test(line)) return;
          if (/['"`][245]\.\d{1,3}\.\d{1,3}\b|\bcode: [245]\d\d\b/.test(line))
            found.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
