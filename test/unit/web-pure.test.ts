/** The web page's pure parts: escaping templates, reasons in words, the list's query parameters. */
import { describe, expect, it } from 'vitest';
import { explainReason, STATE_WORDS } from '../../src/web/explain.js';
import { html } from '../../src/web/html.js';
import { dailyPage } from '../../src/web/pages.js';
import { filterFrom, QueryError } from '../../src/web/query.js';
import { timelineOf } from '../../src/web/timeline.js';
import type { OutboxRow, ReportFacts } from '../../src/outbox/facts.js';
import { takenRow, type SmsRow } from '../../src/spool/types.js';

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
      'could not be delivered: the per-number limit was hit (more than 50 messages, under 30 s apart) (receipt ' +
        'stat:UNDELIV err:251)',
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

describe('timeline', () => {
  const row: SmsRow = {
    ...takenRow(
      {
        queueId: 'q1',
        recipient: '4917',
        sourceAddr: '',
        sourceTon: 0,
        sourceNpi: 0,
        text: 't',
        comment: '',
        coding: 'gsm7',
        dataCoding: 0,
        smsCount: 2,
        truncated: false,
        messageId: null,
        smtpUser: 'alice',
        mailFrom: 'alice@example.org',
        clientIp: null,
        fingerprint: 'f',
        state: 'queued',
        reason: null,
        parts: [1, 2].map(() => ({ udh: '', body: '74', units: 1, payload: false })),
      },
      1,
      1_000,
    ),
    state: 'undeliverable',
    reason: 'receipt stat:UNDELIV err:001',
    firstSubmitAt: 2_000,
    updatedAt: 4_000,
    smscIds: ['a1', 'a2'],
    receipts: ['DELIVRD', 'UNDELIV'],
    receiptFacts: [
      { at: 3_000, err: '000' },
      { at: 4_000, err: '001' },
    ],
  };
  const report: OutboxRow = {
    id: 1,
    createdAt: 5_000,
    attempts: 1,
    nextAttemptAt: 5_000,
    state: 'sent',
    lastError: null,
    facts: {
      kind: 'report',
      action: 'failed',
      to: 'alice@example.org',
      recipient: '4917',
      queueId: 'q1',
    } as ReportFacts,
  };
  const reply: OutboxRow = {
    id: 2,
    createdAt: 6_500,
    attempts: 0,
    nextAttemptAt: 6_500,
    state: 'pending',
    lastError: null,
    facts: {
      kind: 'reply',
      to: 'alice@example.org',
      from: '4917@sms',
      phone: '+4917',
      text: 'on my way',
      receivedAt: 6_000,
      original: null,
    },
  };
  it('accepted, each part submitted, each receipt at its time with err in words, final, report and reply', () => {
    expect(timelineOf(row, [reply, report]).map((e) => [e.at, e.what])).toEqual([
      [1_000, 'accepted'],
      [2_000, 'part 1 of 2 submitted (SMSC id a1)'],
      [2_000, 'part 2 of 2 submitted (SMSC id a2)'],
      [3_000, 'receipt for part 1 of 2: delivered to the phone (stat:DELIVRD err:000)'],
      [4_000, 'receipt for part 2 of 2: could not be delivered: the subscriber does not exist (stat:UNDELIV err:001)'],
      [
        4_000,
        'final: undeliverable: could not be delivered: the subscriber does not exist (receipt stat:UNDELIV err:001)',
      ],
      [5_000, 'report sent to alice@example.org (failed)'],
      [6_000, 'reply from +4917: on my way (mailed to alice@example.org)'],
    ]);
  });
  it('the final line says each word once', () => {
    const final = (over: Partial<SmsRow>) =>
      timelineOf({ ...row, ...over }, []).find((e) => e.what.startsWith('final:'))?.what;
    expect(final({ state: 'delivered', reason: 'receipt stat:DELIVRD err:000' })).toBe('final: delivered');
    expect(final({ state: 'cancelled', reason: 'cancelled on the web page by alice', firstSubmitAt: null })).toBe(
      'final: cancelled before it was sent: cancelled on the web page by alice',
    );
    expect(final({ state: 'expired', reason: 'not sent within spool.max_age_s (60 s)', firstSubmitAt: null })).toBe(
      'final: expired before it could be sent: not sent within spool.max_age_s (60 s)',
    );
    // Expired at the phone after it was submitted: not "before it could be sent".
    expect(final({ state: 'expired', reason: 'receipt stat:EXPIRED err:000' })).toBe(
      'final: expired: the phone was unreachable until the message expired (receipt stat:EXPIRED err:000)',
    );
    expect(final({ state: 'failed', reason: 'SMSC refused: ESME_RINVDSTADR' })).toBe(
      'final: failed: the SMSC refused the destination number (SMSC refused: ESME_RINVDSTADR)',
    );
    expect(final({ state: 'undeliverable', reason: null })).toBe('final: undeliverable (could not be delivered)');
    // The state, and what it means, once each (with the row's receipt reason: "could not be delivered" was twice).
    for (const state of ['delivered', 'undeliverable', 'failed', 'expired', 'cancelled'] as const) {
      const line = final({ state })!;
      expect(line.split(state).length - 1, line).toBe(1);
      expect(line.split(STATE_WORDS[state]!).length - 1, line).toBeLessThanOrEqual(1);
    }
  });

  it('a queued row shows only its acceptance; reports about another recipient are not its own', () => {
    const queued = {
      ...row,
      state: 'queued' as const,
      firstSubmitAt: null,
      smscIds: [null, null],
      receipts: [null, null],
      receiptFacts: [],
    };
    expect(timelineOf(queued, [{ ...report, facts: { ...report.facts, recipient: '4918' } as ReportFacts }])).toEqual([
      { at: 1_000, what: 'accepted' },
    ]);
  });
});

describe('daily counts page', () => {
  const day = Date.parse('2026-05-01T00:00:00Z');
  const counts = [{ day, messages: 4, parts: 8, delivered: 3, failed: 1 }];
  const page = dailyPage(counts, day + 3_600_000).text;

  it('the legend names each series the chart draws, messages included', () => {
    const legend = /<p class="legend">([\s\S]*?)<\/p>/.exec(page)![1]!;
    const keys = [...legend.matchAll(/class="k (\w+)"><\/span> (\w+)/g)].map((m) => [m[1], m[2]]);
    expect(keys).toEqual([
      ['messages', 'messages'],
      ['delivered', 'delivered'],
      ['failed', 'failed'],
      ['parts', 'parts'],
    ]);
    for (const [cls] of keys) expect(page).toMatch(new RegExp(`<(rect|line) class="${cls}"`));
  });

  it('the bar is the messages, with the delivered and failed ones in it, on the scale of the parts', () => {
    const height = (cls: string) =>
      [...page.matchAll(new RegExp(`<rect class="${cls}"[^>]*height="([\\d.]+)"`, 'g'))]
        .map((m) => Number(m[1]))
        .at(-1)!;
    // 8 parts is the top of the scale: 4 messages are half of it, 3 delivered and 1 failed their share.
    expect(height('messages') / height('delivered')).toBeCloseTo(4 / 3);
    expect(height('messages') / height('failed')).toBeCloseTo(4);
    expect(page).toContain('2026-05-01: 4 messages, 8 parts, 3 delivered, 1 failed');
  });
});
