import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { hashFile, indexShare, isInside } from "../../lib/peer/mod.ts";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-index-" });
  try {
    await fn(await Deno.realPath(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hashFile() hashes each chunk and the whole file", async () => {
  await withTempDir(async (dir) => {
    const bytes = crypto.getRandomValues(new Uint8Array(2500));
    await Deno.writeFile(join(dir, "a.bin"), bytes);
    const hashed = await hashFile(join(dir, "a.bin"), 1000);
    assert.equal(hashed.size, 2500);
    assert.equal(hashed.sha256, sha(bytes));
    assert.deepEqual(hashed.chunkHashes, [
      sha(bytes.subarray(0, 1000)),
      sha(bytes.subarray(1000, 2000)),
      sha(bytes.subarray(2000)),
    ]);
  });
});

Deno.test("hashFile() of an empty file has no chunks and the empty-input hash", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "empty"), new Uint8Array());
    const hashed = await hashFile(join(dir, "empty"), 1000);
    assert.equal(hashed.size, 0);
    assert.deepEqual(hashed.chunkHashes, []);
    assert.equal(hashed.sha256, sha(new Uint8Array()));
  });
});

Deno.test("hashFile() gives the same chunk hashes when reads cross chunk boundaries", async () => {
  await withTempDir(async (dir) => {
    // 4 MiB reads against a 3 MiB + 7 byte chunk size: boundaries fall inside reads.
    const bytes = new Uint8Array(9 * 1024 * 1024 + 123);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, bytes.length)));
    }
    await Deno.writeFile(join(dir, "big"), bytes);
    const chunkSize = 3 * 1024 * 1024 + 7;
    const hashed = await hashFile(join(dir, "big"), chunkSize);
    const expected = [];
    for (let at = 0; at < bytes.length; at += chunkSize) {
      expected.push(sha(bytes.subarray(at, at + chunkSize)));
    }
    assert.deepEqual(hashed.chunkHashes, expected);
    assert.equal(hashed.sha256, sha(bytes));
  });
});

Deno.test("indexShare() names nested files by their relative path with slashes", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "a", "b"), { recursive: true });
    await Deno.writeTextFile(join(dir, "top.txt"), "top");
    await Deno.writeTextFile(join(dir, "a", "b", "deep.txt"), "deep");
    const index = await indexShare(dir);
    assert.deepEqual([...index.keys()].sort(), ["a/b/deep.txt", "top.txt"]);
    assert.equal(index.get("a/b/deep.txt")?.size, 4);
  });
});

Deno.test("indexShare() skips symlinks that point outside the share and partial downloads", async () => {
  await withTempDir(async (dir) => {
    const share = join(dir, "share");
    await Deno.mkdir(share);
    await Deno.writeTextFile(join(dir, "secret.txt"), "secret");
    await Deno.writeTextFile(join(share, "ok.txt"), "ok");
    await Deno.writeTextFile(join(share, "half.bin.part"), "partial");
    await Deno.symlink(join(dir, "secret.txt"), join(share, "escape.txt"));
    await Deno.symlink(join(share, "ok.txt"), join(share, "alias.txt"));
    const index = await indexShare(share);
    assert.deepEqual([...index.keys()].sort(), ["alias.txt", "ok.txt"]);
  });
});

Deno.test("indexShare() reuses entries of unchanged files and re-hashes changed ones", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "same.txt"), "same");
    await Deno.writeTextFile(join(dir, "edit.txt"), "before");
    const first = await indexShare(dir);
    await Deno.writeTextFile(join(dir, "edit.txt"), "after, longer");
    const second = await indexShare(dir, { previous: first });
    assert.equal(second.get("same.txt"), first.get("same.txt"));
    assert.notEqual(second.get("edit.txt")?.sha256, first.get("edit.txt")?.sha256);
    assert.equal(second.get("edit.txt")?.size, 13);
  });
});

Deno.test("isInside() accepts descendants and refuses siblings, parents and the root itself", () => {
  assert.ok(isInside("/srv/share", "/srv/share/a.txt"));
  assert.ok(isInside("/srv/share", "/srv/share/..hidden"));
  assert.ok(!isInside("/srv/share", "/srv/share"));
  assert.ok(!isInside("/srv/share", "/srv/shared/a.txt"));
  assert.ok(!isInside("/srv/share", "/srv/a.txt"));
});

Deno.test("hashFile() hashes a large file's whole on a worker with the same result", async () => {
  await withTempDir(async (dir) => {
    const bytes = new Uint8Array(17 * 1024 * 1024 + 3);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, bytes.length)));
    }
    await Deno.writeFile(join(dir, "large"), bytes);
    const hashed = await hashFile(join(dir, "large"), 1024 * 1024);
    assert.equal(hashed.sha256, sha(bytes));
    assert.equal(hashed.chunkHashes.length, 18);
    assert.equal(hashed.chunkHashes[17], sha(bytes.subarray(17 * 1024 * 1024)));
  });
});
