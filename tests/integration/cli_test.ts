/**
 * The peer command line as people use it: `peer status` against a real tracker and serving peer,
 * and `peer shell` on a real pseudo-terminal (tmux) for completion and history.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  makeTempDir,
  registerUsers,
  runAs,
  runJson,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

interface StatusJson {
  user: string;
  tracker: { address: string; reachable: boolean; tls: boolean; error?: string };
  sessions: number | null;
  peer: { address: string; online: boolean; tls: boolean } | null;
  shared: { files: number; bytes: number } | null;
  downloads: number | null;
  failures: number | null;
  getSandbox: { read: string[]; write: string[] } | null;
}

Deno.test("status --json reports the tracker, the peer as announced and what it shares", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await writeFile(share.path, "a.txt", "alpha\n");
  await writeFile(share.path, "docs/b.bin", new Uint8Array(3000));
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using ann = await startPeer("ann", share.path, tracker.address);

  await t.step("a serving peer is online and shares both files and their bytes", async () => {
    const status = await runJson<StatusJson>("ann", tracker.address, [
      "status",
      "--out",
      out.path,
    ]);
    assert.equal(status.user, "ann");
    assert.deepEqual(status.tracker, { address: tracker.address, reachable: true, tls: false });
    assert.ok(status.sessions !== null && status.sessions >= 2, `sessions ${status.sessions}`);
    assert.deepEqual(status.peer, { address: ann.address, online: true, tls: false });
    assert.deepEqual(status.shared, { files: 2, bytes: 6 + 3000 });
    assert.equal(status.downloads, 0);
    assert.equal(status.failures, 0);
    assert.deepEqual(status.getSandbox?.write, [await Deno.realPath(out.path)]);
  });

  await t.step("a user who never announced has no peer and shares nothing", async () => {
    const status = await runJson<StatusJson>("bob", tracker.address, ["status"]);
    assert.equal(status.peer, null);
    assert.deepEqual(status.shared, { files: 0, bytes: 0 });
    assert.equal(status.sessions, 1);
  });

  await t.step("a peer that stopped is shown offline", async () => {
    await ann.stop();
    const status = await runJson<StatusJson>("ann", tracker.address, ["status"]);
    assert.equal(status.peer?.online, false);
  });

  await t.step("an unreachable tracker is reported, with exit code 1", async () => {
    const run = await runAs("ann", "127.0.0.1:1", ["status", "--json"]);
    assert.equal(run.code, 1, run.stderr);
    const status = run.json<StatusJson>();
    assert.equal(status.tracker.reachable, false);
    assert.match(status.tracker.error ?? "", /Cannot reach tracker/);
  });

  await t.step("human output is plain text when piped", async () => {
    const run = await runAs("ann", tracker.address, ["status"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^tracker:\s+127\.0\.0\.1:\d+ \(reachable, plain TCP\)$/m);
    assert.match(run.stdout, /^sharing:\s+2 files, /m);
    assert.ok(!run.stdout.includes("\x1b["), "no escape codes when piped");
  });
});
