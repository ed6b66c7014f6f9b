/** The web page's pure parts: escaping templates, reasons in words, the list's query parameters. */
import { describe, expect, it } from 'vitest';
import { explainReason } from '../../src/web/explain.js';
import { html } from '../../src/web/html.js';
import { filterFrom, QueryError } from '../../src/web/query.js';

describe('html template', () => {
  it('escapes every value, keeps markup made by the template, joins arrays, drops null/false', () => {
    const hostile = `<script>alert(1)</script><img src=x onerror="x()"> & 'q'`;
    expect(html`<p title="${hostile}">${hostile}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;x()&quot;&gt; &amp; &#39;q&#39;">' +
        '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;x()&quot;&gt; &amp; &#39;q&#39;</p>',
    );
    expect(html`<ul>${['<a>', 'b'].map((x) => html`<li>${x}</li>`)}</ul>${null}${false}${undefined}`.text).toBe(
      '<ul><li>&lt;a&gt;</li><li>b</li></ul>',
    );
  });
});

describe('reasons in words', () => {
  it("explains SMS Center's err codes, receipt stats and SMPP refusals, and keeps the raw reason", () => {
    expect(explainReason('receipt stat:UNDELIV err:251')).toBe(
      'could not be delivered: the per-number limit was hit (more than 50 messages, under 30 s apart) (receipt stat:UNDELIV err:251)',
    );
    expect(explainReason('receipt stat:UNDELIV err:1')).toContain('the subscriber does not exist');
    expect(explainReason('receipt stat:EXPIRED err:777')).toContain('operator error 777');
    expect(explainReason('SMSC refused: ESME_RINVDSTADR')).toContain('refused the destination number');
    expect(explainReason('something else')).toBe('something else');
    expect(explainReason(null)).toBeUndefined();
  });
});

describe('list parameters', () => {
  const scope = { user: 'alice' };
  it('reads each filter; empty ones are no filter; a date as until includes that day', () => {
    expect(
      filterFrom(
        {
          state: 'queued',
          number: '+7 (999) 123-45-67',
          since: '2026-05-01',
          until: '2026-05-01',
          q: ' Disk ',
          after: '1700000000000.42',
        },
        scope,
      ),
    ).toEqual({
      scope,
      state: 'queued',
      recipient: '79991234567',
      since: Date.parse('2026-05-01T00:00:00Z'),
      until: Date.parse('2026-05-02T00:00:00Z'),
      text: 'Disk',
      before: { createdAt: 1700000000000, id: 42 },
      limit: 50,
    });
    expect(filterFrom({ state: '', number: '', q: '' }, 'all')).toMatchObject({
      scope: 'all',
      state: undefined,
      recipient: undefined,
      text: undefined,
    });
    expect(filterFrom({ since: '2026-05-01T10:00:00+03:00' }, scope).since).toBe(Date.parse('2026-05-01T07:00:00Z'));
  });
  it('a bad value is a QueryError naming the parameter', () => {
    for (const [q, param] of [
      [{ state: 'gone' }, 'state'],
      [{ since: 'monday' }, 'since'],
      [{ number: '12' }, 'number'],
      [{ after: 'x' }, 'after'],
      [{ limit: '9999' }, 'limit'],
    ] as const) {
      expect(() => filterFrom(q, scope)).toThrow(QueryError);
      expect(() => filterFrom(q, scope)).toThrow(new RegExp(`^${param}:`));
    }
  });
});
