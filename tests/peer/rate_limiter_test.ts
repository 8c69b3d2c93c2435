import assert from "node:assert/strict";
import { parseRate, RateLimiter } from "../../lib/peer/mod.ts";

Deno.test("parseRate() reads decimal and binary units, with or without /s", () => {
  assert.equal(parseRate("20MB/s"), 20_000_000);
  assert.equal(parseRate("512KiB/s"), 524_288);
  assert.equal(parseRate("1.5GB"), 1_500_000_000);
  assert.equal(parseRate("1000"), 1000);
  assert.equal(parseRate("2 mb/s"), 2_000_000);
});

Deno.test("parseRate() refuses text that is not a rate, and zero", () => {
  assert.throws(() => parseRate("fast"), TypeError);
  assert.throws(() => parseRate("0MB/s"), TypeError);
  assert.throws(() => parseRate("-5MB/s"), TypeError);
});

Deno.test("RateLimiter lets a burst through, then paces to the rate", () => {
  let now = 0;
  const bucket = new RateLimiter(1_000_000, { burst: 250_000, now: () => now });
  assert.equal(bucket.delayFor(250_000), 0);
  bucket.consume(250_000);
  assert.equal(bucket.delayFor(100_000), 100);
  now = 100;
  assert.equal(bucket.delayFor(100_000), 0);
});

Deno.test("RateLimiter refills no further than its burst", () => {
  let now = 0;
  const bucket = new RateLimiter(1000, { burst: 500, now: () => now });
  now = 60_000;
  bucket.consume(500);
  assert.equal(bucket.delayFor(500), 500);
});

Deno.test("RateLimiter debt from a large take delays the next caller", () => {
  const now = 0;
  const bucket = new RateLimiter(1000, { burst: 100, now: () => now });
  bucket.consume(1100);
  assert.equal(bucket.delayFor(100), 1100);
});

Deno.test("RateLimiter.take() resolves at once while tokens are there, and waits once they are gone", async () => {
  const now = 0; // time stands still: only tokens already there can pass
  const bucket = new RateLimiter(1000, { burst: 2048, now: () => now });
  const stop = new AbortController();
  const first = (bytes: number) =>
    Promise.race([
      bucket.take(bytes, stop.signal).then(() => "taken", () => "aborted"),
      new Promise((resolve) => setTimeout(() => resolve("timer first"), 0)),
    ]);
  assert.equal(await first(1024), "taken");
  assert.equal(await first(1024), "taken");
  assert.equal(bucket.delayFor(1), 1, "the burst is used up");
  assert.equal(await first(1), "timer first", "no token left: it waits");
  stop.abort();
});
