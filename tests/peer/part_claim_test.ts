import assert from "node:assert/strict";
import { join } from "node:path";
import { claimPart, PeerError, readPartState, statePath } from "../../lib/peer/mod.ts";
import { type FileDetails, manifestId } from "../../lib/protocol/mod.ts";

const hash = (n: number) => n.toString(16).padStart(64, "0");

function detailsOf(size: number, chunkSize = 1024 * 1024): FileDetails {
  const shape = {
    size,
    chunkSize,
    sha256: hash(1),
    chunkHashes: Array.from({ length: Math.ceil(size / chunkSize) }, (_, i) => hash(i + 2)),
  };
  return {
    type: "details",
    name: "f.bin",
    id: manifestId(shape),
    ...shape,
    peers: [],
    versions: [],
  };
}

async function inTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("claimPart() writes the state file and an empty .part when there is none, for one chunk too", async () => {
  await inTempDir(async (dir) => {
    for (const size of [0, 10, 3 * 1024 * 1024]) {
      const partPath = join(dir, `f${size}.bin.part`);
      await claimPart(partPath, detailsOf(size));
      assert.equal((await Deno.lstat(partPath)).size, 0);
      const state = readPartState(partPath);
      assert.ok(state, "no state file");
      assert.equal(state.size, size);
      assert.equal(state.sha256, hash(1));
    }
  });
});

Deno.test("claimPart() refuses a .part without a state file and leaves it untouched", async () => {
  await inTempDir(async (dir) => {
    const partPath = join(dir, "f.bin.part");
    await Deno.writeTextFile(partPath, "a browser's bytes");
    await assert.rejects(
      claimPart(partPath, detailsOf(10)),
      (error) =>
        error instanceof PeerError && error.code === "FOREIGN_PART" &&
        error.message.includes(`${partPath} is not a download of ours`) &&
        error.message.includes("no f.bin.part.json beside it"),
    );
    assert.equal(await Deno.readTextFile(partPath), "a browser's bytes");
    await assert.rejects(Deno.lstat(statePath(partPath)), Deno.errors.NotFound);
  });
});

Deno.test("claimPart() refuses a .part whose state file is not of our shape", async () => {
  await inTempDir(async (dir) => {
    const partPath = join(dir, "f.bin.part");
    await Deno.writeTextFile(partPath, "bytes");
    await Deno.writeTextFile(statePath(partPath), '{"downloadId": 7}');
    await assert.rejects(claimPart(partPath, detailsOf(10)), PeerError);
    assert.equal(await Deno.readTextFile(partPath), "bytes");
    assert.equal(await Deno.readTextFile(statePath(partPath)), '{"downloadId": 7}');
  });
});

Deno.test("claimPart() accepts our own .part, even one of another version, without changing it", async () => {
  await inTempDir(async (dir) => {
    const partPath = join(dir, "f.bin.part");
    await claimPart(partPath, detailsOf(5 * 1024 * 1024));
    await Deno.writeTextFile(partPath, "some verified bytes");
    const before = await Deno.readTextFile(statePath(partPath));
    await claimPart(partPath, detailsOf(10));
    assert.equal(await Deno.readTextFile(partPath), "some verified bytes");
    assert.equal(await Deno.readTextFile(statePath(partPath)), before);
  });
});
