/**
 * Small charts drawn as inline SVG (no script, no style attributes, so a strict content security
 * policy allows them): transfers per minute, and a file version's chunk map.
 *
 * @module
 */
import type { MinuteBucket } from "./event_log.ts";
import { type Html, html } from "./html.ts";

/**
 * A bar per minute, worked transfers in green with failed ones stacked on top in red; each bar has
 * a tooltip with its numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { transfersChart } from "./chart.ts";
 * const svg = transfersChart([{ start: 0, ok: 2, failed: 1, bytes: 10 }]).value;
 * assert.match(svg, /<svg class="chart"/);
 * ```
 */
export function transfersChart(buckets: readonly MinuteBucket[]): Html {
  const width = 600;
  const height = 120;
  const top = Math.max(1, ...buckets.map((b) => b.ok + b.failed));
  const slot = width / Math.max(1, buckets.length);
  const scale = (n: number) => (n / top) * (height - 20);
  const bars = buckets.map((b, i) => {
    const x = (i * slot + 1).toFixed(1);
    const w = Math.max(1, slot - 2).toFixed(1);
    const okH = scale(b.ok);
    const failH = scale(b.failed);
    const minute = new Date(b.start).toISOString().slice(11, 16);
    return html`
      <g
        class="bar"><title>${minute} UTC: ${b.ok} ok, ${b.failed} failed</title>${b.ok > 0
          ? html`
            <rect x="${x}" y="${(height - okH).toFixed(1)}" width="${w}" height="${okH.toFixed(1)}"
              fill="#2f9e44"></rect>
          `
          : ""}${b.failed > 0
          ? html`
            <rect x="${x}" y="${(height - okH - failH).toFixed(1)}" width="${w}" height="${failH
              .toFixed(1)}"
              fill="#e03131"></rect>
          `
          : ""}</g>
    `;
  });
  const total = buckets.reduce((sum, b) => sum + b.ok + b.failed, 0);
  return html`
    <svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"
      role="img"
      aria-label="Transfers per minute over the last ${buckets
        .length} minutes: ${total} in all"><line x1="0" y1="${height}" x2="${width}" y2="${height}" stroke="#adb5bd"></line><text x="2" y="12" font-size="11" fill="#868e96">max ${top}/min</text>${bars}</svg>
  `;
}

/**
 * One square per chunk, coloured by how many online sources hold it (grey: none); squares get
 * smaller for files with many chunks.
 */
export function chunkMap(counts: readonly number[]): Html {
  const columns = 64;
  const cell = counts.length > 2048 ? 4 : counts.length > 512 ? 7 : counts.length > 64 ? 12 : 22;
  const rows = Math.max(1, Math.ceil(counts.length / columns));
  const width = Math.min(counts.length, columns) * cell;
  const height = rows * cell;
  const cells = counts.map((n, i) =>
    html`
      <rect x="${(i % columns) * cell}" y="${Math.floor(i / columns) * cell}" width="${cell -
        1}" height="${cell - 1}" fill="${shade(n)}">
        <title>chunk ${i}: ${n} online source${n === 1 ? "" : "s"}</title>
      </rect>
    `
  );
  return html`
    <svg class="chunkmap" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"
      role="img" aria-label="${counts.length} chunks">${cells}</svg>
  `;
}

/** Grey for no source, then darker greens for more sources (4 and up look the same). */
function shade(sources: number): string {
  return ["#dee2e6", "#b2f2bb", "#69db7c", "#37b24d", "#2b8a3e"][Math.min(4, sources)]!;
}
