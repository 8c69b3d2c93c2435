import assert from "node:assert/strict";
import { ChunkScheduler } from "../../lib/peer/mod.ts";

Deno.test("ChunkScheduler.take() hands out the lowest missing chunks in order", () => {
  const s = new ChunkScheduler(5);
  assert.deepEqual([s.take("a"), s.take("b"), s.take("a")], [0, 1, 2]);
});

Deno.test("ChunkScheduler skips chunks verified by an earlier run", () => {
  const s = new ChunkScheduler(4, [0, 2]);
  assert.equal(s.remaining, 2);
  assert.equal(s.prefix, 1);
  assert.deepEqual([s.take("a"), s.take("a"), s.take("a")], [1, 3, null]);
});

Deno.test("ChunkScheduler gives a faster source more chunks because it asks more often", () => {
  const s = new ChunkScheduler(10);
  const got: Record<string, number> = { fast: 0, slow: 0 };
  s.take("slow");
  for (let i = s.take("fast"); i !== null && !s.isDone(i); i = s.take("fast")) {
    s.complete(i, "fast");
    got.fast!++;
    if (s.remaining === 1) break;
  }
  assert.ok(got.fast! >= 8);
});

Deno.test("ChunkScheduler.complete() reports the first copy and the losers of an endgame race", () => {
  const s = new ChunkScheduler(1);
  assert.equal(s.take("a"), 0);
  assert.equal(s.take("b"), 0, "an idle source races the last chunk");
  assert.equal(s.take("c", 2), null, "at most two copies by default");
  const first = s.complete(0, "b");
  assert.deepEqual(first, { first: true, others: ["a"] });
  assert.equal(s.complete(0, "a").first, false);
  assert.ok(s.finished);
});

Deno.test("ChunkScheduler never gives a source a chunk it already has in flight", () => {
  const s = new ChunkScheduler(1);
  assert.equal(s.take("a"), 0);
  assert.equal(s.take("a"), null);
});

Deno.test("ChunkScheduler.dropSource() returns a failed source's chunks to the others", () => {
  const s = new ChunkScheduler(4);
  assert.deepEqual([s.take("bad"), s.take("bad"), s.take("good")], [0, 1, 2]);
  assert.deepEqual(s.dropSource("bad").sort(), [0, 1]);
  assert.deepEqual([s.take("good"), s.take("good"), s.take("good")], [0, 1, 3]);
});

Deno.test("ChunkScheduler.prefix grows only over contiguous verified chunks", () => {
  const s = new ChunkScheduler(3);
  s.take("a");
  s.take("a");
  s.take("a");
  s.complete(1, "a");
  assert.equal(s.prefix, 0);
  s.complete(0, "a");
  assert.equal(s.prefix, 2);
  assert.deepEqual(s.verified(), [0, 1]);
});
