import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DownloadLock,
  isStillAt,
  openNoFollow,
  PeerError,
  prepareFolders,
  refuseNonFile,
  statePath,
  StateSaver,
} from "../../lib/peer/mod.ts";

const peerError = (code: string) => (error: unknown) =>
  error instanceof PeerError && error.code === code;

async function withDir(run: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openNoFollow() refuses a link, even a dangling one, and creates nothing through it", async () => {
  await withDir((dir) => {
    const target = join(dir, "outside", "made-through-the-link");
    Deno.mkdirSync(join(dir, "outside"));
    Deno.symlinkSync(target, join(dir, "a.part"));
    assert.throws(
      () => openNoFollow(join(dir, "a.part"), { write: true, create: true }),
      peerError("PATH_ESCAPE"),
    );
    assert.deepEqual([...Deno.readDirSync(join(dir, "outside"))], []);
  });
});

Deno.test("openNoFollow() refuses a hard link to a file elsewhere", async () => {
  await withDir((dir) => {
    Deno.writeTextFileSync(join(dir, "victim"), "keep");
    Deno.linkSync(join(dir, "victim"), join(dir, "a.part"));
    assert.throws(
      () => openNoFollow(join(dir, "a.part"), { write: true }),
      peerError("PATH_ESCAPE"),
    );
    assert.equal(Deno.readTextFileSync(join(dir, "victim")), "keep");
  });
});

Deno.test("openNoFollow() creates a missing file and reopens it, and isStillAt() notices a swap", async () => {
  await withDir((dir) => {
    const path = join(dir, "a.part");
    {
      using file = openNoFollow(path, { write: true, create: true });
      file.writeSync(new TextEncoder().encode("abc"));
    }
    using file = openNoFollow(path, { read: true, write: true });
    assert.ok(isStillAt(file, path));
    Deno.renameSync(path, join(dir, "moved"));
    Deno.symlinkSync(join(dir, "moved"), path);
    assert.equal(isStillAt(file, path), false);
  });
});

Deno.test("prepareFolders() makes nested folders and refuses a linked or file folder on the way", async () => {
  await withDir((dir) => {
    assert.equal(
      prepareFolders(join(dir, "out"), "a/b/c.bin"),
      join(dir, "out", "a", "b", "c.bin"),
    );
    Deno.symlinkSync(dir, join(dir, "out", "linked"));
    assert.throws(() => prepareFolders(join(dir, "out"), "linked/x.bin"), peerError("PATH_ESCAPE"));
    Deno.writeTextFileSync(join(dir, "out", "file"), "");
    assert.throws(() => prepareFolders(join(dir, "out"), "file/x.bin"), peerError("BAD_PATH"));
    assert.throws(() => prepareFolders(join(dir, "out", "file"), "x.bin"), peerError("BAD_PATH"));
  });
});

Deno.test("refuseNonFile() refuses a link and a folder and accepts a file or nothing", async () => {
  await withDir((dir) => {
    Deno.writeTextFileSync(join(dir, "file"), "");
    Deno.symlinkSync(join(dir, "file"), join(dir, "link"));
    refuseNonFile(join(dir, "file"), "file");
    refuseNonFile(join(dir, "missing"), "missing");
    assert.throws(() => refuseNonFile(join(dir, "link"), "link"), peerError("PATH_ESCAPE"));
    assert.throws(() => refuseNonFile(dir, "dir"), peerError("BAD_PATH"));
  });
});

Deno.test("DownloadLock.acquire() refuses while held, names the holder, and takes over a left-over file", async () => {
  await withDir((dir) => {
    const part = join(dir, "a.bin.part");
    Deno.writeTextFileSync(`${part}.lock`, "4194303\n"); // left by a process that died
    {
      using _held = DownloadLock.acquire(part, "a.bin");
      assert.equal(Deno.readTextFileSync(`${part}.lock`), `${Deno.pid}\n`);
      assert.throws(
        () => DownloadLock.acquire(part, "a.bin"),
        (error) => peerError("BUSY")(error) && (error as Error).message.includes(`pid ${Deno.pid}`),
      );
    }
    assert.throws(() => Deno.lstatSync(`${part}.lock`), Deno.errors.NotFound);
  });
});

Deno.test("StateSaver replaces a link planted at the temporary state path without following it", async () => {
  await withDir(async (dir) => {
    const part = join(dir, "a.bin.part");
    Deno.writeTextFileSync(join(dir, "victim"), "keep");
    Deno.symlinkSync(join(dir, "victim"), `${statePath(part)}.tmp`);
    const saver = new StateSaver(part, () => ({
      sha256: "0".repeat(64),
      size: 1,
      chunkSize: 1,
      verified: "AQ==",
    }));
    await saver.flush();
    assert.equal(Deno.readTextFileSync(join(dir, "victim")), "keep");
    assert.equal(JSON.parse(Deno.readTextFileSync(statePath(part))).verified, "AQ==");
    assert.throws(() => Deno.lstatSync(`${statePath(part)}.tmp`), Deno.errors.NotFound);
  });
});
