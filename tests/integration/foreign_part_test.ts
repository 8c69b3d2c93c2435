/**
 * Another program's `NAME.part` in the download folder (browsers use the same suffix), end to end:
 * a `get` of `NAME` refuses it with one line naming it, even with `--force`, and leaves its bytes
 * as they were; a `.part` of our own (its `NAME.part.json` beside it), left by an interrupted
 * download of several chunks or by a failed download of one chunk, is resumed. Real tracker,
 * serving peer and `get` processes on loopback.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeBitmap } from "../../lib/peer/mod.ts";
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
  writeFile,
} from "./_harness.ts";

Deno.test("foreign .part: another program's NAME.part is refused and left alone; our own resumes", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await using aside = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  const report = await writeFile(share.path, "report.pdf", randomBytes(4 * MiB + 5));
  const memo = await writeFile(share.path, "memo.txt", "a file of one chunk\n");
  let peer = await startPeer("src", share.path, tracker.address);
  try {
    const get = (name: string, args: string[] = []) =>
      runAs("dl", tracker.address, ["get", name, "--out", out.path, "--no-upload", ...args]);
    const browserBytes = new TextEncoder().encode("%PDF-1.7 half of a browser's download");

    await t.step("a NAME.part without NAME.part.json is refused, even with --force", async () => {
      const foreign = join(out.path, "report.pdf.part");
      await Deno.writeFile(foreign, browserBytes);
      for (const args of [[], ["--force"]]) {
        const run = await get("report.pdf", args);
        assert.notEqual(run.code, 0, run.stdout);
        const line = errorLine(run.stderr);
        assert.match(
          line,
          /^error: Cannot save report\.pdf: .*report\.pdf\.part is not a download/,
        );
        assert.match(line, /no report\.pdf\.part\.json beside it/);
        assert.match(line, /move it away/);
        assert.ok(sameBytes(await Deno.readFile(foreign), browserBytes), "its bytes changed");
        assert.deepEqual(await namesIn(out.path), ["report.pdf.part"]);
      }
    });

    await t.step("a foreign .part of a one-chunk file is refused the same way", async () => {
      const foreign = join(out.path, "memo.txt.part");
      await Deno.writeFile(foreign, browserBytes);
      const run = await get("memo.txt");
      assert.notEqual(run.code, 0, run.stdout);
      assert.match(errorLine(run.stderr), /memo\.txt\.part is not a download of ours/);
      assert.ok(sameBytes(await Deno.readFile(foreign), browserBytes));
      // Moved away by its owner, as the message says.
      await Deno.rename(foreign, join(aside.path, "memo.txt.part"));
      await Deno.rename(join(out.path, "report.pdf.part"), join(aside.path, "report.pdf.part"));
      assert.deepEqual(await namesIn(out.path), []);
    });

    await t.step("our own interrupted download of several chunks resumes", async () => {
      // Slowed to 512 KiB/s (about 8 s), and stopped as Ctrl-C would once a chunk is verified.
      await using first = new Spawned("first get", [
        "peer.ts",
        "get",
        "report.pdf",
        "--out",
        out.path,
        "--no-upload",
        "--max-rate",
        "512KiB/s",
        "--quiet",
        "--tracker",
        tracker.address,
        "--user",
        "dl",
      ], { P2PFS_PASSWORD: PASSWORD });
      await pollUntil("the first get to verify a chunk", async () => {
        const text = await Deno.readTextFile(join(out.path, "report.pdf.part.json"));
        return decodeBitmap(JSON.parse(text).verified, 5).length > 0 ? true : undefined;
      });
      const status = await first.stop("SIGTERM");
      assert.notEqual(status.code, 0, "the first get finished before it was stopped");
      assert.deepEqual(await namesIn(out.path), ["report.pdf.part", "report.pdf.part.json"]);

      const run = await get("report.pdf", ["--json"]);
      assert.equal(run.code, 0, run.stderr);
      const result = run.json<GetJson>();
      assert.ok(result.reusedBytes >= MiB, `nothing was kept: ${JSON.stringify(result)}`);
      assert.ok(sameBytes(await Deno.readFile(join(out.path, "report.pdf")), report));
      assert.deepEqual(await namesIn(out.path), ["report.pdf"]);
    });

    await t.step("our own .part of a one-chunk file, left by a failed get, is reused", async () => {
      // The only source dies without logging out: the get fails after making its .part.
      await peer.kill9();
      const failed = await get("memo.txt");
      assert.notEqual(failed.code, 0, failed.stdout);
      assert.match(errorLine(failed.stderr), /Cannot download memo\.txt: no /);
      assert.ok(await pathExists(join(out.path, "memo.txt.part")));
      assert.ok(await pathExists(join(out.path, "memo.txt.part.json")));

      peer = await startPeer("src", share.path, tracker.address);
      const run = await get("memo.txt");
      assert.equal(run.code, 0, run.stderr);
      assert.ok(sameBytes(await Deno.readFile(join(out.path, "memo.txt")), memo));
      assert.deepEqual(await namesIn(out.path), ["memo.txt", "report.pdf"]);
    });
  } finally {
    await peer[Symbol.asyncDispose]();
  }
});
