/** The pages, server-rendered: every value through the html tag (escaped), script only from /static/app.js. */
import { SMS_STATES } from '../spool/types.js';
import { CODING_NAMES } from '../sms/encode.js';
import type { DailyCount, SmsRow } from '../spool/types.js';
import type { BindHealth, ClusterStatus } from '../ops/health.js';
import type { Viewer } from './access.js';
import { dailyChart } from './chart.js';
import { explainReason, STATE_WORDS } from './explain.js';
import { html, type Html } from './html.js';
import type { Query } from './query.js';
import { timelineOf } from './timeline.js';
import type { OutboxRow } from '../outbox/facts.js';

const when = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));

export function layout(title: string, viewer: Viewer | undefined, body: Html, csrf?: string): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · smtp2sms</title><link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script>
</head><body>
<header><a class="brand" href="/">smtp2sms</a>${
    viewer &&
    html`<nav><a href="/">Messages</a><a href="/daily">Daily counts</a>${viewer.admin && html`<a href="/status">Status</a>`}</nav>
    <form class="signout" method="post" action="/signout"><input type="hidden" name="_csrf" value="${csrf ?? ''}">
    <span class="who">${viewer.username}${viewer.admin && ' (admin)'}</span><button>Sign out</button></form>`
  }</header>
<main>${body}</main></body></html>`.text;
}

export function signInPage(error?: string): Html {
  return html`<section class="signin"><h1>Sign in</h1>
  ${error && html`<p class="error" role="alert">${error}</p>`}
  <form method="post" action="/signin">
    <label>User <input name="username" autocomplete="username" required autofocus></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
    <button>Sign in</button>
  </form>
  <p class="hint">The accounts are those of SMTP AUTH (smtp.auth.users).</p></section>`;
}

/** A text's first words on one line, as the list shows them (and `smtp2sms queue`'s list). */
export function firstWords(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function stateBadge(state: string): Html {
  return html`<span class="state s-${state}" title="${STATE_WORDS[state] ?? state}">${state}</span>`;
}

export function listPage(rows: readonly SmsRow[], q: Query, next: string | undefined, viewer: Viewer): Html {
  const keep = (extra: Record<string, string>) =>
    new URLSearchParams(
      Object.entries({ ...q, ...extra }).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
    ).toString();
  return html`<h1>Messages</h1>
  <form class="filters" method="get" action="/">
    <label>State <select name="state"><option value="">any</option>${SMS_STATES.map(
      (s) => html`<option value="${s}"${q.state === s && html` selected`}>${s}</option>`,
    )}</select></label>
    <label>Number <input name="number" value="${q.number ?? ''}" placeholder="+7999…" size="14"></label>
    <label>From <input name="since" type="date" value="${q.since ?? ''}"></label>
    <label>To <input name="until" type="date" value="${q.until ?? ''}"></label>
    <label>Text <input name="q" value="${q.q ?? ''}" placeholder="words in text or comment"></label>
    <button>Filter</button> <a href="/">clear</a>
  </form>
  ${
    rows.length === 0
      ? html`<p class="empty">No messages${Object.values(q).some((v) => v) ? ' match these filters' : ' yet'}.</p>`
      : html`<table class="messages"><thead><tr><th>Time (UTC)</th><th>To</th><th>Text</th><th>Comment</th>
        <th>Parts</th>${viewer.admin && html`<th>User</th>`}<th>State</th></tr></thead><tbody>${rows.map(
          (r) => html`<tr>
          <td class="time"><a href="/messages/${encodeURIComponent(r.queueId)}">${when(r.createdAt)}</a></td>
          <td class="num">+${r.recipient}</td>
          <td class="text"><a href="/messages/${encodeURIComponent(r.queueId)}">${firstWords(r.text)}</a></td>
          <td class="comment">${firstWords(r.comment, 40)}</td>
          <td class="parts">${r.smsCount} × ${CODING_NAMES[r.coding]}</td>
          ${viewer.admin && html`<td>${r.smtpUser ?? html`<em>no AUTH</em>`}</td>`}
          <td>${stateBadge(r.state)}</td></tr>`,
        )}</tbody></table>`
  }
  ${next && html`<p class="more"><a href="/?${keep({ after: next })}">Older messages →</a></p>`}`;
}

export function messagePage(
  rows: readonly SmsRow[],
  viewer: Viewer,
  csrf: string,
  notice?: string,
  outbox: readonly OutboxRow[] = [],
): Html {
  const first = rows[0]!;
  return html`<p><a href="/">← Messages</a></p><h1>Message ${first.queueId}</h1>
  ${notice && html`<p class="notice" role="status">${notice}</p>`}
  <dl class="facts">
    <dt>Accepted</dt><dd>${when(first.createdAt)} UTC</dd>
    <dt>Sender (SMS)</dt><dd>${first.sourceAddr || '(the SMSC decides)'}</dd>
    <dt>Mail from</dt><dd>${first.mailFrom ?? '—'}</dd>
    <dt>Message-ID</dt><dd class="mono">${first.messageId ?? '—'}</dd>
    <dt>SMTP user</dt><dd>${first.smtpUser ?? html`<em>none (no AUTH)</em>`}</dd>
    ${viewer.admin && first.clientIp && html`<dt>Client</dt><dd>${first.clientIp}</dd>`}
  </dl>
  <h2>Text</h2><pre class="sms-text">${first.text}</pre>
  ${first.comment && html`<h2>Comment <small>(kept here, never sent)</small></h2><pre class="comment">${first.comment}</pre>`}
  ${rows.map((r) => recipientSection(r, csrf, outbox))}`;
}

function recipientSection(r: SmsRow, csrf: string, outbox: readonly OutboxRow[]): Html {
  const why = r.state === 'delivered' ? undefined : explainReason(r.reason);
  return html`<section class="recipient"><h2>To +${r.recipient} ${stateBadge(r.state)}</h2>
  ${why && html`<p class="reason">${why}</p>`}
  <table class="parts"><thead><tr><th>Part</th><th>SMSC id</th><th>Receipt</th></tr></thead><tbody>${r.parts.map(
    (_p, i) => html`<tr><td>${i + 1} of ${r.parts.length}</td><td class="mono">${r.smscIds[i] ?? '—'}</td>
      <td>${r.receipts[i] ?? '—'}${receiptTime(r, i)}</td></tr>`,
  )}</tbody></table>
  <p class="meta">${r.smsCount} part(s), ${CODING_NAMES[r.coding]}${r.truncated && ', truncated'}; attempts: ${r.attempts}</p>
  <ol class="timeline">${timelineOf(r, outbox).map((e) => html`<li><time>${when(e.at)}</time> ${e.what}</li>`)}</ol>
  ${
    r.state === 'queued' &&
    html`<form class="cancel" method="post" action="/messages/${encodeURIComponent(r.queueId)}/cancel"
      data-confirm="Cancel the SMS to +${r.recipient}? It will never be sent.">
      <input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="id" value="${r.id}">
      <button class="danger">Cancel this SMS</button></form>`
  }</section>`;
}

/** When a part's receipt came, beside its stat; nothing before its receipt. */
function receiptTime(r: SmsRow, part: number): Html | undefined {
  const fact = r.receiptFacts[part];
  return fact ? html` <time class="receipt-at">${when(fact.at)}</time>` : undefined;
}

export function dailyPage(counts: readonly DailyCount[], now: number): Html {
  const total = counts.reduce(
    (a, c) => ({
      messages: a.messages + c.messages,
      parts: a.parts + c.parts,
      delivered: a.delivered + c.delivered,
      failed: a.failed + c.failed,
    }),
    { messages: 0, parts: 0, delivered: 0, failed: 0 },
  );
  return html`<h1>Daily counts <small>last 30 days, UTC</small></h1>
  <p class="legend"><span class="k messages"></span> messages <span class="k delivered"></span> delivered
  <span class="k failed"></span> failed <span class="k parts"></span> parts</p>
  ${dailyChart(counts, now)}
  <p>${total.messages} messages, ${total.parts} parts, ${total.delivered} delivered, ${total.failed} failed.</p>
  <table class="messages"><thead><tr><th>Day</th><th>Messages</th><th>Parts</th><th>Delivered</th><th>Failed</th></tr></thead>
  <tbody>${[...counts].reverse().map(
    (c) => html`<tr><td>${new Date(c.day).toISOString().slice(0, 10)}</td><td>${c.messages}</td><td>${c.parts}</td>
      <td>${c.delivered}</td><td>${c.failed}</td></tr>`,
  )}</tbody></table>`;
}

export function statusPage(
  node: string | undefined,
  binds: readonly BindHealth[],
  counts: Record<string, number>,
  cluster?: ClusterStatus,
): Html {
  return html`<h1>Status</h1>${node && html`<p>Node <strong>${node}</strong></p>`}
  ${cluster && clusterSection(cluster, binds)}
  <h2>SMPP binds${cluster && ' of this node'}</h2>
  ${binds.length === 0 && html`<p>None: this node stands by while another holds the binds.</p>`}
  <table class="messages"><thead><tr><th>Bind</th><th>Mode</th><th>State</th></tr></thead><tbody>${binds.map(
    (b) =>
      html`<tr><td>${b.name}</td><td>${b.mode}</td><td>${b.up ? html`<span class="state s-delivered">up</span>` : html`<span class="state s-failed">down</span>`}</td></tr>`,
  )}</tbody></table>
  <h2>Spool</h2><p>${Object.entries(counts).map(([s, n]) => html`${stateBadge(s)} ${n} `)}</p>`;
}

/** Several nodes on one database: who holds the binds and what each live node has, as far as this node knows. */
function clusterSection(c: ClusterStatus, binds: readonly BindHealth[]): Html {
  const up = binds.filter((b) => b.up).length;
  const bindsOf = (n: string) =>
    n === c.node
      ? `${up} of ${binds.length} up`
      : n === c.holder
        ? 'bound (it holds the lock; its binds are on its own status page)'
        : 'none (standby)';
  return html`<h2>Cluster</h2>
  <p class="holder">${
    c.holder === null
      ? html`<strong>No node holds the SMPP binds right now</strong> (a failover is in progress, or none can bind).`
      : html`SMPP binds held by node <strong>${c.holder}</strong>${c.holder === c.node && ' (this node)'}.`
  }</p>
  <table class="messages cluster"><thead><tr><th>Node</th><th>Role</th><th>SMPP binds</th></tr></thead>
  <tbody>${c.nodes.map(
    (n) => html`<tr><td>${n}${n === c.node && ' (this node)'}</td>
      <td>${n === c.holder ? 'holds the binds, relays for the cluster' : 'stands by (accepts mail)'}</td>
      <td>${bindsOf(n)}</td></tr>`,
  )}</tbody></table>`;
}

export function notFoundPage(): Html {
  return html`<h1>Not found</h1><p>No such message among yours.</p><p><a href="/">← Messages</a></p>`;
}

export function errorPage(message: string): Html {
  return html`<h1>Error</h1><p class="error">${message}</p><p><a href="/">← Messages</a></p>`;
}
