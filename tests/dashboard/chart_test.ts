import assert from "node:assert/strict";
import { transfersChart } from "../../lib/dashboard/chart.ts";

const MINUTE = 60_000;
const start = Date.UTC(2026, 0, 1, 12, 0);
const hour = Array.from(
  { length: 60 },
  (_, i) => ({ start: start + i * MINUTE, ok: 0, failed: 0, bytes: 0 }),
);

Deno.test("transfersChart() has a time axis: a label every ten minutes and now", () => {
  const svg = transfersChart(hour).value;
  const labels = [...svg.matchAll(/text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(labels, ["12:00", "12:10", "12:20", "12:30", "12:40", "12:50", "now"]);
  assert.match(svg, />time \(UTC\)<\/text>/);
});

Deno.test("transfersChart() labels its count axis from 0 to the busiest minute", () => {
  const busy = hour.map((b, i) => i === 59 ? { ...b, ok: 7, failed: 2 } : b);
  const svg = transfersChart(busy).value;
  assert.match(svg, /text-anchor="end">9<\/text>/);
  assert.match(svg, /text-anchor="end">0<\/text>/);
  assert.match(svg, />transfers\/min<\/text>/);
  assert.match(svg, /<title>12:59 UTC: 7 ok, 2 failed<\/title>/);
});
