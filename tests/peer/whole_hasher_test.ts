import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { WholeHasher, WORKER_HASH_MIN_BYTES } from "../../lib/peer/mod.ts";

const MiB = 1024 * 1024;

/** A file of `size` bytes of a repeating pattern in a fresh folder; resolves to its path. */
async function patternFile(dir: string, size: number): Promise<string> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  const path = join(dir, "f.bin.part");
  await Deno.writeFile(path, bytes);
  return path;
}

async function sha256Of(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

Deno.test("WholeHasher hashes exactly the file when told of a verified prefix past its end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 20,000,000 bytes: 20 chunks of 1 MiB, the last one short; the offset after it is 20 MiB.
    const path = await patternFile(dir, 20_000_000);
    using hasher = new WholeHasher(path, 20_000_000);
    hasher.advance(10 * MiB);
    hasher.advance(20 * MiB);
    assert.equal(await hasher.finish(), await sha256Of(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WholeHasher hashes a file just above the worker threshold told only of its end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const size = WORKER_HASH_MIN_BYTES + 1;
    const path = await patternFile(dir, size);
    using hasher = new WholeHasher(path, size);
    hasher.advance(Number.MAX_SAFE_INTEGER);
    assert.equal(await hasher.finish(), await sha256Of(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WholeHasher hashes a small file on the calling thread whatever it is told", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await patternFile(dir, 1000);
    using hasher = new WholeHasher(path, 1000);
    hasher.advance(MiB);
    assert.equal(await hasher.finish(), await sha256Of(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
