/**
 * The daily counts as a small server-rendered SVG bar chart (no script, no chart library): a bar of messages with
 * the delivered and failed ones in it (all three count messages), and a mark at the day's parts.
 */
import type { DailyCount } from '../spool/types.js';
import { html, type Html } from './html.js';

const W = 640;
const H = 140;
const PAD = 24;

/** `days` UTC days ending with the one holding `now`; days without rows show as zero. */
export function dailyChart(counts: readonly DailyCount[], now: number, days = 30): Html {
  const DAY = 86_400_000;
  const last = Math.floor(now / DAY) * DAY;
  const byDay = new Map(counts.map((c) => [c.day, c]));
  const series = Array.from({ length: days }, (_, i) => {
    const day = last - (days - 1 - i) * DAY;
    return byDay.get(day) ?? { day, messages: 0, parts: 0, delivered: 0, failed: 0 };
  });
  const max = Math.max(1, ...series.map((d) => Math.max(d.parts, d.messages)));
  const slot = (W - 2 * PAD) / days;
  const y = (n: number) => H - PAD - (n / max) * (H - 2 * PAD);
  const bars = series.map((d, i) => {
    const x = PAD + i * slot;
    const label =
      `${new Date(d.day).toISOString().slice(0, 10)}: ${d.messages} messages, ${d.parts} parts, ` +
      `${d.delivered} delivered, ${d.failed} failed`;
    return html`<g><title>${label}</title>
      <rect class="messages" x="${x.toFixed(1)}" y="${y(d.messages).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}"
        height="${(H - PAD - y(d.messages)).toFixed(1)}"/>
      <rect class="delivered" x="${x.toFixed(1)}" y="${y(d.delivered).toFixed(1)}" width="${(slot * 0.4).toFixed(1)}"
        height="${(H - PAD - y(d.delivered)).toFixed(1)}"/>
      <rect class="failed" x="${(x + slot * 0.4).toFixed(1)}" y="${y(d.failed).toFixed(1)}" width="${(slot * 0.4).toFixed(1)}"
        height="${(H - PAD - y(d.failed)).toFixed(1)}"/>
      ${d.parts > 0 && html`<line class="parts" x1="${x.toFixed(1)}" y1="${y(d.parts).toFixed(1)}" x2="${(x + slot * 0.8).toFixed(1)}" y2="${y(d.parts).toFixed(1)}"/>`}</g>`;
  });
  const first = new Date(series[0]!.day).toISOString().slice(0, 10);
  const lastLabel = new Date(last).toISOString().slice(0, 10);
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Daily messages, last ${days} days">
    <line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" class="axis"/>
    <text x="${PAD}" y="${PAD - 8}" class="label">${max}</text>
    ${bars}
    <text x="${PAD}" y="${H - 6}" class="label">${first}</text>
    <text x="${W - PAD}" y="${H - 6}" class="label" text-anchor="end">${lastLabel}</text>
  </svg>`;
}
