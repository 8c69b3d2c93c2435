/**
 * The transfers chart: transfers per minute over the last hour, drawn as inline SVG (no script, no
 * style attributes, so a strict content security policy allows it). The chunk map, also SVG, is in
 * `chunk_map.ts`.
 *
 * @module
 */
import { countWindow } from "./counts.ts";
import type { MinuteBucket } from "./event_log.ts";
import { type Html, html } from "./html.ts";

/**
 * A bar per minute, worked transfers in green with failed ones stacked on top in red; each bar has
 * a tooltip with its numbers. A time axis below (a tick and an `HH:MM` UTC label every ten
 * minutes, `now` at the right edge) and a count axis on the left (0 and the busiest minute) say
 * what the bars measure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { transfersChart } from "./chart.ts";
 * const minute = 60_000;
 * const buckets = Array.from({ length: 60 }, (_, i) => ({ start: i * minute, ok: 0, failed: 0, bytes: 0 }));
 * buckets[59] = { start: 59 * minute, ok: 2, failed: 1, bytes: 10 };
 * const svg = transfersChart(buckets).value;
 * assert.match(svg, /<svg class="chart"/);
 * assert.match(svg, />00:10<\/text>/);
 * assert.match(svg, />now<\/text>/);
 * assert.match(svg, />transfers\/min<\/text>/);
 * ```
 */
export function transfersChart(buckets: readonly MinuteBucket[]): Html {
  const width = 640;
  const height = 160;
  // Plot area: room on the left for counts, below for times.
  const left = 34;
  const right = 8;
  const top = 16;
  const bottom = 30;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const baseline = top + plotH;
  const most = Math.max(1, ...buckets.map((b) => b.ok + b.failed));
  const slot = plotW / Math.max(1, buckets.length);
  const scale = (n: number) => (n / most) * plotH;
  const bars = buckets.map((b, i) => {
    const x = (left + i * slot + 1).toFixed(1);
    const w = Math.max(1, slot - 2).toFixed(1);
    const okH = scale(b.ok);
    const failH = scale(b.failed);
    const minute = new Date(b.start).toISOString().slice(11, 16);
    return html`
      <g
        class="bar"><title>${minute} UTC: ${b.ok} ok, ${b.failed} failed</title>${b.ok > 0
          ? html`
            <rect x="${x}" y="${(baseline - okH).toFixed(1)}" width="${w}" height="${okH.toFixed(
              1,
            )}"
              fill="#2f9e44"></rect>
          `
          : ""}${b.failed > 0
          ? html`
            <rect x="${x}" y="${(baseline - okH - failH).toFixed(1)}" width="${w}" height="${failH
              .toFixed(1)}"
              fill="#e03131"></rect>
          `
          : ""}</g>
    `;
  });
  // A tick at every ten minutes of the clock, and "now" at the newest bucket.
  const ticks = buckets.flatMap((b, i) => {
    const fromEnd = buckets.length - 1 - i;
    const onTen = Math.floor(b.start / 60_000) % 10 === 0;
    if (fromEnd !== 0 && (!onTen || fromEnd < 4)) return [];
    const x = (left + (i + 0.5) * slot).toFixed(1);
    const label = fromEnd === 0 ? "now" : new Date(b.start).toISOString().slice(11, 16);
    return [
      html`
        <line x1="${x}" y1="${baseline}" x2="${x}" y2="${baseline +
          4}" stroke="#adb5bd"></line>
        <text x="${x}" y="${baseline +
          16}" font-size="10" fill="#868e96"
          text-anchor="middle">${label}</text>
      `,
    ];
  });
  const total = countWindow(buckets);
  return html`
    <svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"
      role="img"
      aria-label="Transfers per minute over the last ${buckets
        .length} minutes: ${total.ok} worked, ${total
        .failed} failed"><line x1="${left}" y1="${top}" x2="${width -
        right}" y2="${top}" stroke="#e9ecef"></line><line x1="${left}" y1="${baseline}" x2="${width -
        right}" y2="${baseline}" stroke="#adb5bd"></line><line x1="${left}" y1="${top}" x2="${left}" y2="${baseline}" stroke="#adb5bd"></line><text x="${left -
        4}" y="${top +
        4}" font-size="10" fill="#868e96" text-anchor="end">${most}</text><text x="${left -
        4}" y="${baseline}" font-size="10" fill="#868e96" text-anchor="end">0</text><text x="${left}" y="${top -
        5}" font-size="10" fill="#868e96">transfers/min</text><text x="${width -
        right}" y="${height -
        2}" font-size="10" fill="#868e96" text-anchor="end">time (UTC)</text>${ticks}${bars}</svg>
  `;
}
