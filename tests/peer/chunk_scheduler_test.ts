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

Deno.test("ChunkScheduler hands a source with a have-map only chunks it holds", () => {
  const s = new ChunkScheduler(4);
  s.setHave("p", Uint8Array.of(0, 1, 0, 1), true);
  assert.deepEqual([s.take("p"), s.take("p"), s.take("p")].sort(), [1, 3, null].sort());
});

Deno.test("ChunkScheduler in rarest order takes the chunk fewest sources hold, after the first few at random", () => {
  const s = new ChunkScheduler(8, [0, 1, 2, 3], { order: "rarest", random: () => 0.99 });
  s.setHave("p", Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 0), true);
  s.setHave("q", Uint8Array.of(1, 1, 1, 1, 1, 1, 0, 0), true);
  s.setHave("r", Uint8Array.of(1, 1, 1, 1, 1, 0, 0, 1), true);
  // Chunk 6 is held by p alone, 7 by r alone, 5 by p and q, 4 by all three.
  assert.equal(s.take("p"), 6);
  assert.equal(s.take("r"), 7);
  assert.equal(s.take("q"), 5);
  assert.equal(s.take("q"), 4);
});

Deno.test("ChunkScheduler races a chunk in flight elsewhere only once it is overdue", () => {
  const s = new ChunkScheduler(1);
  assert.equal(s.take("slow", 2, { now: 0 }), 0);
  assert.equal(s.take("fast", 2, { now: 100, raceAfterMs: 250 }), null);
  assert.ok(s.raceable("fast"));
  assert.equal(s.take("fast", 2, { now: 300, raceAfterMs: 250 }), 0);
});
