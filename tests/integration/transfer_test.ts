/**
 * Listing, pinging and downloading end to end: a real tracker, serving peers and a downloading
 * user, each its own process, with real files in temporary folders.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type DetailsJson,
  errorLine,
  type GetJson,
  type ListedFile,
  makeTempDir,
  MiB,
  pathExists,
  type PingJson,
  pollUntil,
  randomBytes,
  registerUsers,
  runAs,
  runJson,
  sameBytes,
  sha256Hex,
  startPeer,
  startTracker,
  versionId,
  writeFile,
} from "./_harness.ts";

Deno.test("transfer: a third user lists, pings and downloads from two serving peers", async (t) => {
  await using tracker = await startTracker();
  await using annShare = await makeTempDir();
  await using bobShare = await makeTempDir();
  await using out = await makeTempDir();
  const big = randomBytes(3.5 * MiB);
  await writeFile(annShare.path, "big.bin", big);
  await writeFile(bobShare.path, "big.bin", big);
  const nested = await writeFile(annShare.path, "sub/dir/file.txt", "deep inside\n");
  const hello = await writeFile(bobShare.path, "hello.txt", "hello from bob\n");
  await registerUsers(tracker.address, ["ann", "bob", "cat"]);
  await using ann = await startPeer("ann", annShare.path, tracker.address);
  await using bob = await startPeer("bob", bobShare.path, tracker.address);
  assert.equal(ann.files, 2);
  assert.equal(bob.files, 2);
  const get = (name: string, ...flags: string[]) =>
    runAs("cat", tracker.address, ["get", name, "--out", out.path, ...flags, "--json"]);

  await t.step("list --json shows every file once, with its number of online sources", async () => {
    const files = await runJson<ListedFile[]>("cat", tracker.address, ["list"]);
    assert.deepEqual(files, [
      { name: "big.bin", size: big.length, sha256: sha256Hex(big), id: versionId(big), sources: 2 },
      {
        name: "hello.txt",
        size: hello.length,
        sha256: sha256Hex(hello),
        id: versionId(hello),
        sources: 1,
      },
      {
        name: "sub/dir/file.txt",
        size: nested.length,
        sha256: sha256Hex(nested),
        id: versionId(nested),
        sources: 1,
      },
    ]);
  });

  await t.step("list --search keeps only the names that contain the text", async () => {
    const files = await runJson<ListedFile[]>("cat", tracker.address, ["list", "--search", "DIR"]);
    assert.deepEqual(files.map((f) => f.name), ["sub/dir/file.txt"]);
  });

  await t.step("details --json gives the chunking and every holder of a 3.5 MiB file", async () => {
    const details = await runJson<DetailsJson>("cat", tracker.address, ["details", "big.bin"]);
    assert.deepEqual(Object.keys(details).sort(), [
      "chunkSize",
      "chunks",
      "id",
      "name",
      "peers",
      "sha256",
      "size",
      "versions",
    ]);
    assert.equal(details.id, versionId(big));
    assert.deepEqual(details.versions, [{
      id: versionId(big),
      sha256: sha256Hex(big),
      size: big.length,
      chunkSize: MiB,
      holders: 2,
      online: 2,
    }]);
    assert.equal(details.name, "big.bin");
    assert.equal(details.size, 3.5 * MiB);
    assert.equal(details.sha256, sha256Hex(big));
    assert.equal(details.chunkSize, MiB);
    assert.equal(details.chunks, 4);
    const peers = [...details.peers].sort((a, b) => a.user.localeCompare(b.user));
    assert.deepEqual(peers, [
      {
        user: "ann",
        address: ann.address,
        online: true,
        downloads: 0,
        failures: 0,
        complete: true,
        progress: 1,
        stalled: false,
      },
      {
        user: "bob",
        address: bob.address,
        online: true,
        downloads: 0,
        failures: 0,
        complete: true,
        progress: 1,
        stalled: false,
      },
    ]);
  });

  await t.step("ping --json reports an online peer with a round-trip time", async () => {
    const ping = await runJson<PingJson>("cat", tracker.address, ["ping", "ann"]);
    assert.equal(ping.user, "ann");
    assert.equal(ping.online, true);
    assert.equal(typeof ping.rttMs, "number");
    assert.ok(ping.rttMs! >= 0, `rttMs ${ping.rttMs}`);
  });

  await t.step("get saves a file whose bytes and SHA-256 match the original", async () => {
    const run = await get("big.bin");
    assert.equal(run.code, 0, run.stderr);
    const result = run.json<GetJson>();
    assert.equal(result.name, "big.bin");
    assert.equal(result.path, join(out.path, "big.bin"));
    assert.equal(result.size, big.length);
    assert.equal(result.sha256, sha256Hex(big));
    assert.equal(typeof result.seconds, "number");
    assert.ok(result.sources.length >= 1);
    assert.ok(result.sources.every((s) => s === "ann" || s === "bob"), String(result.sources));
    const saved = await Deno.readFile(result.path);
    assert.equal(sha256Hex(saved), sha256Hex(big));
    assert.ok(sameBytes(saved, big), "the saved bytes differ from the original");
    assert.equal(await pathExists(`${result.path}.part`), false);
    // The source that delivered it is credited with a download.
    const details = await runJson<DetailsJson>("cat", tracker.address, ["details", "big.bin"]);
    const credited = details.peers.filter((p) => p.downloads > 0).map((p) => p.user);
    assert.deepEqual(credited.sort(), [...result.sources].sort());
  });

  await t.step("get keeps nested folder names below --out", async () => {
    const run = await get("sub/dir/file.txt");
    assert.equal(run.code, 0, run.stderr);
    const path = join(out.path, "sub", "dir", "file.txt");
    assert.equal(run.json<GetJson>().path, path);
    assert.deepEqual(await Deno.readFile(path), nested);
  });

  await t.step("get refuses to overwrite an existing file without --force", async () => {
    const path = join(out.path, "hello.txt");
    await Deno.writeTextFile(path, "my own edits\n");
    const run = await get("hello.txt");
    assert.notEqual(run.code, 0);
    assert.match(errorLine(run.stderr), /hello\.txt.*exists.*--force/);
    assert.equal(await Deno.readTextFile(path), "my own edits\n");
  });

  await t.step("get --force replaces an existing file with the shared one", async () => {
    const run = await get("hello.txt", "--force");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.json<GetJson>().sources, ["bob"]);
    assert.deepEqual(await Deno.readFile(join(out.path, "hello.txt")), hello);
  });

  await t.step("get of a file nobody shares fails with a clear error", async () => {
    const run = await get("no-such-file.txt");
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, "");
    assert.match(errorLine(run.stderr), /no-such-file\.txt is not shared/);
    assert.equal(await pathExists(join(out.path, "no-such-file.txt")), false);
  });

  await t.step("ping --json reports a stopped peer as offline, with exit code 1", async () => {
    assert.equal((await bob.stop()).code, 0, bob.process.stderr);
    const run = await runAs("cat", tracker.address, ["ping", "bob", "--json"]);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(run.json<PingJson>(), { user: "bob", online: false, rttMs: null });
    const files = await runJson<ListedFile[]>("cat", tracker.address, ["list"]);
    assert.deepEqual(files.map((f) => [f.name, f.sources]), [
      ["big.bin", 1],
      ["sub/dir/file.txt", 1],
    ]);
  });
});

Deno.test("transfer: a corrupt copy is caught, counted as a failure, and a good copy wins", async () => {
  await using tracker = await startTracker();
  await using danShare = await makeTempDir();
  await using eveShare = await makeTempDir();
  await using out = await makeTempDir();
  const original = randomBytes(2.5 * MiB);
  const mtime = new Date("2024-01-02T03:04:05.678Z");
  await writeFile(danShare.path, "fragile.bin", original);
  const danCopy = join(danShare.path, "fragile.bin");
  await Deno.utime(danCopy, mtime, mtime);
  await registerUsers(tracker.address, ["dan", "eve", "fay"]);
  await using dan = await startPeer("dan", danShare.path, tracker.address);
  assert.equal(dan.files, 1);

  // Corrupt dan's copy behind its back: same size, same mtime, so its index still trusts it.
  {
    await using file = await Deno.open(danCopy, { read: true, write: true });
    await file.seek(1.5 * MiB, Deno.SeekMode.Start);
    await file.write(new Uint8Array(4096).fill(0xa5));
  }
  await Deno.utime(danCopy, mtime, mtime);
  const onDisk = await Deno.stat(danCopy);
  assert.equal(onDisk.size, original.length);
  assert.equal(onDisk.mtime?.getTime(), mtime.getTime());

  const failuresOf = async (user: string) => {
    const details = await runJson<DetailsJson>("fay", tracker.address, ["details", "fragile.bin"]);
    assert.equal(details.sha256, sha256Hex(original));
    const peer = details.peers.find((p) => p.user === user);
    assert.ok(peer, `${user} is not a holder: ${JSON.stringify(details.peers)}`);
    return peer;
  };
  assert.equal((await failuresOf("dan")).failures, 0);
  const get = (...extra: string[]) =>
    runAs("fay", tracker.address, ["get", "fragile.bin", "--out", out.path, "--json", ...extra]);

  // With dan the only online holder, the download waits for a good holder rather than save bad
  // bytes, and ends as stalled (exit code 3) naming why dan was dropped.
  const failed = await get("--stall-timeout", "1s");
  assert.equal(failed.code, 3, failed.stderr);
  assert.match(errorLine(failed.stderr), /fragile\.bin.*dan: corrupt/);
  // Nothing is saved under the real name (verified chunks may stay in fragile.bin.part).
  assert.equal(await pathExists(join(out.path, "fragile.bin")), false);
  assert.equal((await failuresOf("dan")).failures, 1);

  // Once eve serves a good copy, the download succeeds whichever source is tried first.
  await writeFile(eveShare.path, "fragile.bin", original);
  await using eve = await startPeer("eve", eveShare.path, tracker.address);
  assert.equal(eve.files, 1);
  const run = await get();
  assert.equal(run.code, 0, run.stderr);
  const result = run.json<GetJson>();
  assert.ok(result.sources.includes("eve"), String(result.sources));
  const saved = await Deno.readFile(join(out.path, "fragile.bin"));
  assert.equal(result.sha256, sha256Hex(original));
  assert.ok(sameBytes(saved, original), "the saved bytes differ from the original");
  assert.ok((await failuresOf("dan")).failures >= 1);
  // Chunks dan delivered before the corrupt one were kept (resume), so eve supplied the rest,
  // and its download count grows by the share of the file it delivered.
  assert.equal(result.fetchedBytes + result.reusedBytes, original.length);
  const eveFraction = (result.perSource.eve ?? 0) / original.length;
  assert.ok(eveFraction > 0);
  assert.equal((await failuresOf("eve")).downloads, Math.round(eveFraction * 1000) / 1000);
  assert.equal((await failuresOf("eve")).failures, 0);
});

Deno.test("transfer: a serving peer killed with SIGKILL is shown offline after missed heartbeats", async () => {
  // Offline after 3 s without a heartbeat: short enough to wait for, and a peer slowed down by a
  // busy machine is not shown offline while it is alive (the check below waits for it anyway).
  await using tracker = await startTracker({ heartbeatMs: 1_000 });
  await using share = await makeTempDir();
  await writeFile(share.path, "orphan.txt", "left behind\n");
  await registerUsers(tracker.address, ["gil", "hal"]);
  await using gil = await startPeer("gil", share.path, tracker.address);
  const onlineOf = async () => {
    const details = await runJson<DetailsJson>("hal", tracker.address, ["details", "orphan.txt"]);
    return details.peers.map((p) => [p.user, p.online]);
  };
  const before = await pollUntil("gil to be shown online", async () => {
    const peers = await onlineOf();
    return peers[0]?.[1] === true ? peers : undefined;
  });
  assert.deepEqual(before, [["gil", true]]);
  const status = await gil.kill9();
  assert.equal(status.signal, "SIGKILL");
  await pollUntil("gil to be shown offline", async () => {
    const peers = await onlineOf();
    return peers[0]?.[1] === false ? peers : undefined;
  }, { timeoutMs: 20_000, intervalMs: 200 });
  const files = await runJson<ListedFile[]>("hal", tracker.address, ["list"]);
  assert.deepEqual(files, []);
  const all = await runJson<ListedFile[]>("hal", tracker.address, ["list", "--all"]);
  assert.deepEqual(all.map((f) => [f.name, f.sources]), [["orphan.txt", 0]]);
});
