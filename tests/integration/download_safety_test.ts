/**
 * The download folder under attack, end to end: links planted where `get` writes (`NAME.part`, its
 * state, the final `NAME`, a folder of a nested name) are refused and what they point at stays
 * byte for byte the same; two `get`s of one file into one folder do not both run; an `--out` with
 * a folder or a file in the way fails with one line. Real tracker, serving peer and `get`
 * processes (sandboxed, as users run them) on loopback.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  errorLine,
  type GetJson,
  makeTempDir,
  MiB,
  namesIn,
  PASSWORD,
  pathExists,
  pollUntil,
  randomBytes,
  registerUsers,
  runAs,
  sameBytes,
  Spawned,
  startPeer,
  startTracker,
  type TempDir,
  writeFile,
} from "./_harness.ts";

Deno.test("download safety: links planted in the download folder are refused, never followed", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using root = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  const original = randomBytes(3 * MiB + 123);
  await writeFile(share.path, "big.bin", original);
  await writeFile(share.path, "docs/nested.bin", randomBytes(MiB + 7));
  await using _peer = await startPeer("src", share.path, tracker.address);
  // The victim lies outside the download folder; the sandbox lets `get` write only `out`.
  const outside = join(root.path, "outside");
  const victimPath = join(outside, "victim.bin");
  const victim = await writeFile(outside, "victim.bin", randomBytes(64 * 1024));
  const out = join(root.path, "out");

  const attempt = async (plant: string, args: string[] = []) => {
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.mkdir(out);
    await Deno.symlink(victimPath, join(out, plant));
    const run = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out, ...args]);
    const after = await Deno.readFile(victimPath);
    assert.ok(
      sameBytes(after, victim),
      `the link's target changed (now ${after.length} bytes): ${run.stdout}${run.stderr}`,
    );
    assert.notEqual(run.code, 0, run.stdout);
    const line = errorLine(run.stderr);
    assert.match(line, new RegExp(`${plant.replaceAll(".", "\\.")} is a symbolic link`));
    // Nothing was made beside the planted link, and the link is left as it was.
    assert.deepEqual(await namesIn(out), [plant]);
    assert.equal(await Deno.readLink(join(out, plant)), victimPath);
    return line;
  };

  await t.step("NAME.part as a link to a file outside", async () => {
    await attempt("big.bin.part");
  });

  await t.step("NAME.part.json as a link to a file outside", async () => {
    await attempt("big.bin.part.json");
  });

  await t.step("the final NAME as a link to a file outside, even with --force", async () => {
    await attempt("big.bin", ["--force"]);
  });

  await t.step("NAME.part.lock as a link to a file outside", async () => {
    await attempt("big.bin.part.lock");
  });

  await t.step("a folder of a nested name as a link to a folder outside", async () => {
    await using elsewhere = await makeTempDir();
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.mkdir(out);
    await Deno.symlink(elsewhere.path, join(out, "docs"));
    const run = await runAs("dl", tracker.address, ["get", "docs/nested.bin", "--out", out]);
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(errorLine(run.stderr), /docs is a symbolic link/);
    assert.deepEqual(await namesIn(elsewhere.path), []);
  });

  await t.step("with the links gone, the same get succeeds", async () => {
    await Deno.remove(out, { recursive: true });
    const run = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(sameBytes(await Deno.readFile(run.json<GetJson>().path), original));
    assert.deepEqual(await namesIn(out), ["big.bin"]);
  });
});

Deno.test("download safety: a second get of the same file into the same folder is refused while the first runs", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out: TempDir = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  const original = randomBytes(8 * MiB);
  await writeFile(share.path, "big.bin", original);
  await using _peer = await startPeer("src", share.path, tracker.address);

  // The first get is slowed to 256 KiB/s (about 32 s), so it holds the lock while the second runs.
  await using first = new Spawned("first get", [
    "peer.ts",
    "get",
    "big.bin",
    "--out",
    out.path,
    "--max-rate",
    "256KiB/s",
    "--quiet",
    "--tracker",
    tracker.address,
    "--user",
    "dl",
  ], { P2PFS_PASSWORD: PASSWORD });
  const lock = join(out.path, "big.bin.part.lock");
  const holder = await pollUntil("the first get to take its lock", async () => {
    const text = await Deno.readTextFile(lock).catch(() => "");
    return /^\d+\n$/.test(text) ? Number(text) : undefined;
  });

  const second = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out.path]);
  assert.equal(first.status, undefined, "the first get ended before the second ran");
  assert.notEqual(second.code, 0, second.stdout);
  assert.match(
    errorLine(second.stderr),
    new RegExp(`another process \\(pid ${holder}\\) is downloading it into the same folder`),
  );
  // The second touched nothing: the first's lock is still its own.
  assert.equal(await Deno.readTextFile(lock), `${holder}\n`);

  // The first is stopped (SIGTERM, passed on to its sandboxed child, cancels a get as Ctrl-C does);
  // a later get resumes what it kept and saves the file.
  const stopped = await first.stop("SIGTERM");
  assert.notEqual(stopped.signal, "SIGKILL", first.stderr);
  const third = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out.path]);
  assert.equal(third.code, 0, third.stderr);
  assert.ok(sameBytes(await Deno.readFile(join(out.path, "big.bin")), original));
  assert.deepEqual(await namesIn(out.path), ["big.bin"]);
});

Deno.test("download safety: a lock file left by a dead process is taken over", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  const original = randomBytes(2 * MiB + 5);
  await writeFile(share.path, "big.bin", original);
  await using _peer = await startPeer("src", share.path, tracker.address);
  // What a get killed with SIGKILL leaves: a lock file nobody holds (the kernel dropped the lock).
  await Deno.writeTextFile(join(out.path, "big.bin.part.lock"), "4194303\n");

  const run = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out.path]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(sameBytes(await Deno.readFile(join(out.path, "big.bin")), original));
  assert.deepEqual(await namesIn(out.path), ["big.bin"]);
});

Deno.test("download safety: --out with a folder or a file in the way fails with one clear line", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using root = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  await writeFile(share.path, "a.txt", "hello\n");
  await writeFile(share.path, "docs/b.txt", "nested\n");
  await using _peer = await startPeer("src", share.path, tracker.address);

  await t.step("the file's name is a folder in --out (with or without --force)", async () => {
    const out = join(root.path, "dir-in-the-way");
    await Deno.mkdir(join(out, "a.txt"), { recursive: true });
    for (const args of [[], ["--force"]]) {
      const run = await runAs("dl", tracker.address, ["get", "a.txt", "--out", out, ...args]);
      assert.notEqual(run.code, 0, run.stdout);
      assert.match(errorLine(run.stderr), /^error: Cannot save a\.txt: .*a\.txt is a folder/);
      assert.ok((await Deno.stat(join(out, "a.txt"))).isDirectory);
    }
  });

  await t.step("--out is a file", async () => {
    const out = join(root.path, "a-file");
    await Deno.writeTextFile(out, "not a folder\n");
    const run = await runAs("dl", tracker.address, ["get", "a.txt", "--out", out]);
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(
      errorLine(run.stderr),
      /^error: Cannot save a\.txt: the download folder .*a-file is a file, not a folder/,
    );
    assert.equal(await Deno.readTextFile(out), "not a folder\n");
  });

  await t.step("a folder of a nested name is a file in --out", async () => {
    const out = join(root.path, "nested");
    await writeFile(out, "docs", "a file where a folder should be\n");
    const run = await runAs("dl", tracker.address, ["get", "docs/b.txt", "--out", out]);
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(errorLine(run.stderr), /^error: Cannot save docs\/b\.txt: .*docs is a file/);
    assert.equal(await pathExists(join(out, "docs.part")), false);
  });
});
