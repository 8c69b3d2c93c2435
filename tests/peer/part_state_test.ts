import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  decodeBitmap,
  encodeBitmap,
  resumableChunks,
  statePath,
  StateSaver,
} from "../../lib/peer/mod.ts";
import {
  encodeHaveMap,
  type FileDetails,
  manifestId,
  ProtocolError,
} from "../../lib/protocol/mod.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function detailsOf(bytes: Uint8Array, chunkSize: number): FileDetails {
  const chunkHashes = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    chunkHashes.push(sha(bytes.subarray(at, at + chunkSize)));
  }
  const shape = { size: bytes.length, sha256: sha(bytes), chunkSize, chunkHashes };
  const id = manifestId(shape);
  return {
    type: "details",
    name: "f.bin",
    id,
    ...shape,
    peers: [],
    versions: [{
      id,
      sha256: shape.sha256,
      size: shape.size,
      chunkSize,
      holders: 0,
      online: 0,
      downloads: 0,
    }],
  };
}

Deno.test("encodeBitmap() and decodeBitmap() round-trip chunk indexes", () => {
  const indexes = [0, 1, 7, 8, 15, 99];
  assert.deepEqual(decodeBitmap(encodeBitmap(indexes, 100), 100), indexes);
  assert.deepEqual(decodeBitmap(encodeBitmap([], 5), 5), []);
});

Deno.test("encodeBitmap() writes the have-map spelling that state files already on disk use", () => {
  // Chunks 0 and 3 are bits 0 and 3 of byte 0 (0x09), chunk 9 is bit 1 of byte 1 (0x02).
  assert.equal(encodeBitmap([0, 3, 9], 10), "CQI=");
  assert.equal(
    encodeBitmap([0, 3, 9], 10),
    encodeHaveMap(Uint8Array.of(1, 0, 0, 1, 0, 0, 0, 0, 0, 1)),
  );
});

Deno.test("decodeBitmap() refuses a bitmap whose length disagrees with the chunk count", () => {
  assert.throws(() => decodeBitmap(encodeBitmap([0], 9), 8), ProtocolError);
  assert.throws(() => decodeBitmap(encodeBitmap([0], 8), 9), ProtocolError);
  assert.throws(() => encodeBitmap([8], 8), RangeError);
});

Deno.test("resumableChunks() keeps recorded chunks that still verify and drops the rest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = crypto.getRandomValues(new Uint8Array(4000));
    const details = detailsOf(bytes, 1000);
    const part = join(dir, "f.bin.part");
    const onDisk = bytes.slice();
    onDisk[2500] = onDisk[2500]! ^ 0xff; // chunk 2 damaged on disk
    await Deno.writeFile(part, onDisk);
    const saver = new StateSaver(part, () => ({
      sha256: details.sha256,
      size: details.size,
      chunkSize: details.chunkSize,
      verified: encodeBitmap([0, 2, 3], 4),
    }));
    await saver.flush();
    const seen: number[] = [];
    const kept = await resumableChunks(part, details, (done) => seen.push(done));
    assert.deepEqual(kept, [0, 3]);
    assert.equal(seen.at(-1), 3000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resumableChunks() ignores a state file that describes another version", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = crypto.getRandomValues(new Uint8Array(2000));
    const details = detailsOf(bytes, 1000);
    const part = join(dir, "f.bin.part");
    await Deno.writeFile(part, bytes);
    await Deno.writeTextFile(
      statePath(part),
      JSON.stringify({
        sha256: "0".repeat(64),
        size: 2000,
        chunkSize: 1000,
        verified: encodeBitmap([0, 1], 2),
      }),
    );
    assert.deepEqual(await resumableChunks(part, details), []);
    await Deno.writeTextFile(statePath(part), "not json");
    assert.deepEqual(await resumableChunks(part, details), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resumableChunks() keeps nothing when the state's bitmap is longer than the chunk count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = crypto.getRandomValues(new Uint8Array(4000));
    const details = detailsOf(bytes, 1000);
    const part = join(dir, "f.bin.part");
    await Deno.writeFile(part, bytes);
    const state = { sha256: details.sha256, size: 4000, chunkSize: 1000 };
    // Every chunk verifies, but the bitmap has two bytes for four chunks: not a state we wrote.
    await Deno.writeTextFile(statePath(part), JSON.stringify({ ...state, verified: "DwA=" }));
    assert.deepEqual(await resumableChunks(part, details), []);
    await Deno.writeTextFile(statePath(part), JSON.stringify({ ...state, verified: "Dw==" }));
    assert.deepEqual(await resumableChunks(part, details), [0, 1, 2, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
