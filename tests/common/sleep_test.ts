import assert from "node:assert/strict";
import { backoffMs, sleep } from "../../lib/common/sleep.ts";

Deno.test("sleep resolves when its signal aborts, however long the wait", async () => {
  const stop = new AbortController();
  const waiting = sleep(Infinity, stop.signal);
  let resolved = false;
  waiting.then(() => resolved = true);
  await Promise.resolve();
  assert.equal(resolved, false);
  stop.abort();
  await waiting;
  assert.equal(resolved, true);
});

Deno.test("back-off doubles from the first wait up to the cap, scaled by the jitter", () => {
  const rule = { firstMs: 100, maxMs: 1_000 };
  const upper = [0, 1, 2, 3, 4, 5].map((attempt) => backoffMs(rule, attempt, () => 1));
  assert.deepEqual(upper, [100, 200, 400, 800, 1_000, 1_000]);
  assert.equal(backoffMs(rule, 2, () => 0), 0);
  assert.equal(backoffMs({ ...rule, factor: 3 }, 2, () => 0.5), 450);
});
