import assert from "node:assert/strict";
import { MAX_RATE_METER_DOWNLOADS, RATE_WINDOW_MS, RateMeter } from "../../lib/dashboard/mod.ts";

Deno.test("RateMeter measures over the last RATE_WINDOW_MS only", () => {
  const meter = new RateMeter();
  meter.observe("d", { at: 0, bytes: 0 });
  meter.observe("d", { at: 1_000, bytes: 1_000_000 }); // a burst, then steady 1,000 B/s
  let reading = meter.observe("d", { at: 2_000, bytes: 1_001_000 });
  for (let at = 3_000; at <= 2_000 + RATE_WINDOW_MS + 1_000; at += 1_000) {
    reading = meter.observe("d", { at, bytes: 1_001_000 + (at - 2_000) });
  }
  assert.equal(reading.bytesPerSecond, 1_000);
});

Deno.test("RateMeter ignores a report seen twice and starts over when a download does", () => {
  const meter = new RateMeter();
  meter.observe("d", { at: 0, bytes: 0 });
  assert.equal(meter.observe("d", { at: 2_000, bytes: 4_000 }).bytesPerSecond, 2_000);
  assert.equal(meter.observe("d", { at: 2_000, bytes: 4_000 }).bytesPerSecond, 2_000);
  assert.equal(meter.observe("d", { at: 3_000, bytes: 0 }).bytesPerSecond, null);
});

Deno.test("RateMeter keeps at most its cap of downloads, forgetting the least recently seen", () => {
  assert.equal(new RateMeter().size, 0);
  assert.ok(MAX_RATE_METER_DOWNLOADS >= 1_000);
  const meter = new RateMeter(3);
  for (const key of ["a", "b", "c"]) meter.observe(key, { at: 0, bytes: 0 });
  meter.observe("a", { at: 1_000, bytes: 10 }); // a is the most recent now
  meter.observe("d", { at: 1_000, bytes: 0 }); // over the cap: b goes
  assert.equal(meter.size, 3);
  assert.equal(meter.observe("a", { at: 2_000, bytes: 20 }).bytesPerSecond, 10);
  assert.equal(meter.observe("b", { at: 2_000, bytes: 20 }).bytesPerSecond, null);
});

Deno.test("RateMeter marks when a download last moved", () => {
  const meter = new RateMeter();
  meter.observe("d", { at: 0, bytes: 0 });
  meter.observe("d", { at: 1_000, bytes: 5 });
  assert.equal(meter.observe("d", { at: 9_000, bytes: 5 }).movedAt, 1_000);
});
