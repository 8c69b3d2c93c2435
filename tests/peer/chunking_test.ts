import assert from "node:assert/strict";
import { chunkCount, chunkRange, chunkSizeFor, DEFAULT_CHUNK_SIZE } from "../../lib/peer/mod.ts";
import { MAX_CHUNKS_PER_FILE } from "../../lib/protocol/mod.ts";

Deno.test("chunkSizeFor() keeps 1 MiB up to the chunk-count limit", () => {
  assert.equal(chunkSizeFor(0), DEFAULT_CHUNK_SIZE);
  assert.equal(chunkSizeFor(MAX_CHUNKS_PER_FILE * DEFAULT_CHUNK_SIZE), DEFAULT_CHUNK_SIZE);
});

Deno.test("chunkSizeFor() doubles the chunk size past the chunk-count limit", () => {
  const size = MAX_CHUNKS_PER_FILE * DEFAULT_CHUNK_SIZE + 1;
  assert.equal(chunkSizeFor(size), 2 * DEFAULT_CHUNK_SIZE);
  assert.ok(chunkCount(100 * 1024 ** 3, chunkSizeFor(100 * 1024 ** 3)) <= MAX_CHUNKS_PER_FILE);
});

Deno.test("chunkRange() gives the last chunk only the remaining bytes", () => {
  const file = { size: 2500, chunkSize: 1000 };
  assert.equal(chunkCount(file.size, file.chunkSize), 3);
  assert.deepEqual(chunkRange(0, file), { offset: 0, length: 1000 });
  assert.deepEqual(chunkRange(2, file), { offset: 2000, length: 500 });
});

Deno.test("chunkCount() of an empty file is zero", () => {
  assert.equal(chunkCount(0, 1024), 0);
});
