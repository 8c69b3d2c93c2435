/**
 * The transfers chart: transfers per minute over the last hour, drawn as inline SVG (no script, no
 * style attributes, so a strict content security policy allows it). The chunk map, also SVG, is in
 * `chunk_map.ts`.
 *
 * @module
 */
import { countWindow } from "./counts.ts";
import type { MinuteBucket } from "./event_log.ts";
import { element, type Html } from "./html.ts";

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
    const bar = (y: number, h: number, fill: string) =>
      element("rect", { x, y: y.toFixed(1), width: w, height: h.toFixed(1), fill });
    const minute = new Date(b.start).toISOString().slice(11, 16);
    return element(
      "g",
      { class: "bar" },
      element("title", {}, `${minute} UTC: ${b.ok} ok, ${b.failed} failed`),
      b.ok > 0 && bar(baseline - okH, okH, WORKED),
      b.failed > 0 && bar(baseline - okH - failH, failH, FAILED),
    );
  });
  // A tick at every ten minutes of the clock, and "now" at the newest bucket.
  const ticks = buckets.flatMap((b, i) => {
    const fromEnd = buckets.length - 1 - i;
    const onTen = Math.floor(b.start / 60_000) % 10 === 0;
    if (fromEnd !== 0 && (!onTen || fromEnd < 4)) return [];
    const x = (left + (i + 0.5) * slot).toFixed(1);
    const label = fromEnd === 0 ? "now" : new Date(b.start).toISOString().slice(11, 16);
    return [line(x, baseline, x, baseline + 4, AXIS), text(x, baseline + 16, label, "middle")];
  });
  const total = countWindow(buckets);
  const about = `Transfers per minute over the last ${buckets.length} minutes: ` +
    `${total.ok} worked, ${total.failed} failed`;
  return element(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-label": about,
    },
    line(left, top, width - right, top, GRID),
    line(left, baseline, width - right, baseline, AXIS),
    line(left, top, left, baseline, AXIS),
    text(left - 4, top + 4, most, "end"),
    text(left - 4, baseline, 0, "end"),
    text(left, top - 5, "transfers/min"),
    text(width - right, height - 2, "time (UTC)", "end"),
    ticks,
    bars,
  );
}

// Colours: bars of worked and failed transfers, the axes, the top grid line.
const WORKED = "#2f9e44";
const FAILED = "#e03131";
const AXIS = "#adb5bd";
const GRID = "#e9ecef";

/** A line of the chart. */
function line(
  x1: Coordinate,
  y1: Coordinate,
  x2: Coordinate,
  y2: Coordinate,
  stroke: string,
): Html {
  return element("line", { x1, y1, x2, y2, stroke });
}

/** A label of the chart, in small grey type. */
function text(x: Coordinate, y: Coordinate, label: string | number, anchor?: string): Html {
  return element("text", { x, y, "font-size": 10, fill: "#868e96", "text-anchor": anchor }, label);
}

/** A coordinate, as a number or already written (`12.5`). */
type Coordinate = number | string;
