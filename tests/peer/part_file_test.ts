import assert from "node:assert/strict";
import { PartFile, PartFileError, PeerError } from "../../lib/peer/mod.ts";

Deno.test("PartFile.open() keeps what an earlier run wrote unless told the download is fresh", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.bin.part`;
    await Deno.writeFile(path, new Uint8Array([1, 2, 3, 4]));
    PartFile.open(path, 6, { fresh: false })[Symbol.dispose]();
    assert.deepEqual([...await Deno.readFile(path)], [1, 2, 3, 4, 0, 0]);
    PartFile.open(path, 3, { fresh: true })[Symbol.dispose]();
    assert.deepEqual([...await Deno.readFile(path)], [0, 0, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile.moveTo() refuses a .part that was replaced since it was opened", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.bin.part`;
    using part = PartFile.open(path, 2, { fresh: true });
    await Deno.remove(path);
    await Deno.writeFile(path, new Uint8Array([9, 9]));
    assert.throws(
      () => part.moveTo(`${dir}/a.bin`, "a.bin"),
      (e) => e instanceof PeerError && e.code === "PATH_ESCAPE",
    );
    await assert.rejects(Deno.lstat(`${dir}/a.bin`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile.writeAt() turns a file-system failure into a DISK PartFileError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const part = PartFile.open(`${dir}/a.bin.part`, 2, { fresh: true });
    part[Symbol.dispose](); // a closed handle fails like a broken disk would
    assert.throws(
      () => part.writeAt(new Uint8Array([1]), 0),
      (e) => e instanceof PartFileError && e.code === "DISK" && e.cause instanceof Error,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
