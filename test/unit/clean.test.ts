import { describe, expect, it } from 'vitest';
import { cleanBody, composeText, splitComments, tidy } from '../../src/mail/clean.js';

const clean = (text: string, commentPrefix = '') => cleanBody(text, { commentPrefix });

describe('signatures', () => {
  it.each(['-- ', '--'])('cuts at a %j line', (sep) => {
    expect(clean(`Hello\n${sep}\nJohn\n+7 999`).text).toBe('Hello');
  });
  it('keeps "---" and "-- text" lines', () => {
    expect(clean('a\n---\nb\n-- not a signature').text).toBe('a\n---\nb\n-- not a signature');
  });
  it.each([
    'Sent from my iPhone',
    'Sent from my Samsung Galaxy smartphone.'.replace('.', ''),
    'Отправлено с iPhone',
    'Get Outlook for Android',
    'Von meinem iPhone gesendet',
  ])('drops a trailing sign-off %j', (line) => {
    expect(clean(`Door open\n\n${line}\n\n`).text).toBe('Door open');
  });
  it.each([
    '© 2026 Grafana Labs. Sent by Grafana v11.3.1.',
    '(c) 2019-2026 Example Org',
    'Copyright 2026 Example Ltd.',
  ])('drops a trailing copyright footer %j', (line) => {
    expect(clean(`Disk full on db1\n${line}`).text).toBe('Disk full on db1');
  });
  it('keeps a copyright line that is not the last', () => {
    expect(clean('© 2026 Example Org\nDisk full on db1').text).toBe('© 2026 Example Org\nDisk full on db1');
  });
  it('keeps "sent from my" inside the text', () => {
    expect(clean('The report sent from my laptop failed\nretry').text).toBe(
      'The report sent from my laptop failed\nretry',
    );
  });
});

describe('quoted replies', () => {
  it('drops > lines and a one-line attribution', () => {
    expect(clean('Yes.\n\nOn Mon, Jan 1, 2026 at 10:00 Bob <b@x> wrote:\n> question?\n> more').text).toBe('Yes.');
  });
  it('drops a wrapped two-line attribution', () => {
    expect(clean('Yes.\nOn Mon, Jan 1, 2026 at 10:00 AM Bob Example <bob@example.org>\nwrote:\n\n> q').text).toBe(
      'Yes.',
    );
  });
  it('drops a Russian attribution', () => {
    expect(clean('Да.\n\n24.11.2026 10:00, Иван пишет:\n> Вопрос').text).toBe('Да.');
  });
  it('keeps inline answers between quotes', () => {
    expect(clean('> q1\nanswer 1\n> q2\nanswer 2').text).toBe('answer 1\nanswer 2');
  });
  it('keeps a line ending in "wrote:" that is not followed by a quote', () => {
    expect(clean('The script wrote:\n42 files').text).toBe('The script wrote:\n42 files');
  });
  it.each([
    '-----Original Message-----',
    '-----Исходное сообщение-----',
    '________________________________',
    'From: Ops <ops@x>\nSent: Tuesday 10:00',
    'От: Ops <ops@x>\nОтправлено: 24 ноября 2026 г. 10:00',
  ])('cuts the original message at %j', (sep) => {
    expect(clean(`Restart it.\n\n${sep}\nTo: me\nold text`).text).toBe('Restart it.');
  });
  it('keeps a lone "From:" line that is not a header block', () => {
    expect(clean('From: backup job\nstatus OK').text).toBe('From: backup job\nstatus OK');
  });
});

describe('disclaimers', () => {
  it.each([
    'CONFIDENTIALITY NOTICE: This e-mail is confidential.',
    'DISCLAIMER: views are my own',
    'This email and any attachments are confidential and intended solely for the addressee.',
    'Данное сообщение и вложения конфиденциальны.',
  ])('cuts %j and what follows', (d) => {
    expect(clean(`Server down.\n\n${d}\nmore legal text`).text).toBe('Server down.');
  });
  it('does not cut a first paragraph that looks like one', () => {
    expect(clean('DISCLAIMER: test run\nall good').text).toBe('DISCLAIMER: test run\nall good');
  });
});

describe('comments', () => {
  it('everything after a ~~~ line is the comment', () => {
    expect(clean('code 4711\n~~~\norder 77\nclient X')).toEqual({ text: 'code 4711', comment: 'order 77\nclient X' });
  });
  it('~~~ inside a line is text', () => {
    expect(clean('a ~~~ b').comment).toBe('');
  });
  it('the signature after the comment section stays in the comment, the text keeps its own cleaning', () => {
    expect(clean('hi\n-- \nsig\n~~~\nnote')).toEqual({ text: 'hi', comment: 'note' });
  });
  it('prefixed lines are comments when a prefix is set, in order, before the ~~~ section', () => {
    expect(clean('#ticket 1\nDisk full\n#host db1\n~~~\ntail', '#')).toEqual({
      text: 'Disk full',
      comment: 'ticket 1\nhost db1\ntail',
    });
    expect(clean('#1 priority', '').text).toBe('#1 priority');
  });
  it('splitComments alone', () => {
    expect(splitComments('a\n~~~', '')).toEqual({ text: 'a', comment: '' });
  });
});

describe('tidy', () => {
  it('trailing spaces, tabs, control characters, blank runs, ends', () => {
    expect(tidy('  \n\nA \t B  \r\nC\u0000\u0007D\n\n\n\nE\n\n')).toBe('A   B\nCD\n\nE');
  });
});

describe('subject modes', () => {
  it('prepend', () => {
    expect(composeText(' Disk  full ', 'db1 97%', 'prepend')).toBe('Disk full\ndb1 97%');
    expect(composeText('Disk full', '', 'prepend')).toBe('Disk full');
    expect(composeText('', 'body', 'prepend')).toBe('body');
  });
  it('ignore and only', () => {
    expect(composeText('S', 'B', 'ignore')).toBe('B');
    expect(composeText('S', 'B', 'only')).toBe('S');
    expect(composeText('  ', 'B', 'only')).toBe('B');
  });
});
