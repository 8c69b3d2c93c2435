import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeChunkIndexes,
  decodeHaveMap,
  encodeChunkIndexes,
  encodeHaveMap,
  haveReply,
  MAX_CHUNKS_PER_FILE,
  MAX_HAVE_MAP_CHARS,
  ProtocolError,
} from "../../lib/protocol/mod.ts";

const RUNS = 500;
const haves = fc.integer({ min: 0, max: MAX_CHUNKS_PER_FILE }).chain((n) =>
  fc.uint8Array({ minLength: n, maxLength: n, min: 0, max: 1 })
);

Deno.test("decodeHaveMap() gives back every have-map encodeHaveMap() made", () => {
  fc.assert(
    fc.property(haves, (have) => {
      const text = encodeHaveMap(have);
      assert.ok(text.length <= MAX_HAVE_MAP_CHARS);
      assert.deepEqual(decodeHaveMap(text, have.length), have);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("decodeHaveMap() throws nothing but ProtocolError for any text and chunk count", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 2000 }), fc.base64String({ maxLength: 2000 })),
      fc.integer({ min: 0, max: MAX_CHUNKS_PER_FILE }),
      (text, chunks) => {
        try {
          const have = decodeHaveMap(text, chunks);
          assert.equal(have.length, chunks);
          assert.equal(encodeHaveMap(have), text, "only the canonical spelling decodes");
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
        }
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("decodeHaveMap() rejects a map of the wrong length, a bit past the last chunk and a text over the limit", () => {
  assert.throws(() => decodeHaveMap(encodeHaveMap(new Uint8Array(9)), 8), ProtocolError);
  assert.throws(() => decodeHaveMap("/w==", 3), /a bit past the last chunk/); // 0xff for 3 chunks
  assert.throws(() => decodeHaveMap("A".repeat(MAX_HAVE_MAP_CHARS + 4), 8), /too long/);
  assert.throws(() => decodeHaveMap("not base64!", 8), ProtocolError);
  assert.throws(() => encodeHaveMap(new Uint8Array(MAX_CHUNKS_PER_FILE + 1)), RangeError);
});

Deno.test("a have-map of MAX_CHUNKS_PER_FILE chunks fits the have reply, and one character more does not", () => {
  const full = encodeHaveMap(new Uint8Array(MAX_CHUNKS_PER_FILE).fill(1));
  assert.equal(full.length, MAX_HAVE_MAP_CHARS);
  const reply = { type: "have", id: "a".repeat(64), bits: full, complete: true };
  assert.equal(haveReply(reply, "have").bits, full);
  assert.throws(() => haveReply({ ...reply, bits: `${full}A` }, "have"), ProtocolError);
});

Deno.test("decodeChunkIndexes() gives back the indexes encodeChunkIndexes() got, in the same map as encodeHaveMap()", () => {
  fc.assert(
    fc.property(haves, (have) => {
      const indexes = [...have.keys()].filter((i) => have[i] === 1);
      const text = encodeChunkIndexes(indexes, have.length);
      assert.equal(text, encodeHaveMap(have));
      assert.deepEqual(decodeChunkIndexes(text, have.length), indexes);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("decodeChunkIndexes() refuses a map whose length disagrees with the chunk count", () => {
  assert.throws(() => decodeChunkIndexes(encodeChunkIndexes([0, 8], 9), 8), {
    name: "ProtocolError",
    code: "BAD_MESSAGE",
    message: "Cannot decode have-map: 2 bytes for 8 chunks",
  });
  assert.throws(() => decodeChunkIndexes(encodeChunkIndexes([0], 8), 9), ProtocolError);
  assert.throws(() => decodeChunkIndexes("Dw==", 3), /a bit past the last chunk/);
});

Deno.test("encodeChunkIndexes() refuses an index that is not a chunk", () => {
  assert.throws(() => encodeChunkIndexes([3], 3), RangeError);
  assert.throws(() => encodeChunkIndexes([-1], 3), RangeError);
  assert.throws(() => encodeChunkIndexes([0.5], 3), RangeError);
  assert.throws(() => encodeChunkIndexes([], MAX_CHUNKS_PER_FILE + 1), RangeError);
});
