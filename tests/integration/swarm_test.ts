/**
 * Swarm downloads end to end: several serving peers, each its own process, delivering parts of one
 * file; sources that die or lie; a downloader killed halfway and run again; folders; progress on a
 * terminal; rate limits. Slow transfers are made slow with `--max-rate`, never by waiting.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type DetailsJson,
  type GetJson,
  getResult,
  makeTempDir,
  MiB,
  PASSWORD,
  pathExists,
  pollUntil,
  randomBytes,
  registerUsers,
  ROOT,
  runAs,
  runJson,
  sameBytes,
  sha256Hex,
  Spawned,
  startPeer,
  startSwarm,
  startTracker,
  verifiedChunks,
  writeFile,
} from "./_harness.ts";

interface ManyJson {
  files: GetJson[];
  failed: Array<{ name: string; error: string }>;
}

Deno.test("swarm: three sources each deliver part of a file and every byte verifies", async () => {
  // 16 chunks: each source's first 4 requests are first-hand, whichever connects last.
  const original = randomBytes(16 * MiB);
  await using out = await makeTempDir();
  await using swarm = await startSwarm({
    bytes: original,
    seeds: ["a1", "a2", "a3"],
    users: ["dl"],
  });
  const { tracker } = swarm;
  // The rate limit keeps the transfer long enough for all three sources to be asked.
  const result = await swarm.fetch("dl", out.path, ["--max-rate", "8MB/s"]);
  assert.deepEqual(Object.keys(result.perSource).sort(), ["a1", "a2", "a3"]);
  for (const [user, bytes] of Object.entries(result.perSource)) {
    assert.ok(bytes > 0, `${user} delivered nothing: ${JSON.stringify(result.perSource)}`);
  }
  assert.equal(result.fetchedBytes, original.length);
  assert.equal(result.reusedBytes, 0);
  assert.equal(result.sha256, sha256Hex(original));

  // Each source's download count grew by the share of the file it delivered.
  const details = await runJson<DetailsJson>("dl", tracker.address, ["details", "big.bin"]);
  const credited = details.peers.reduce((sum, p) => sum + p.downloads, 0);
  assert.ok(Math.abs(credited - 1) < 0.01, `downloads add up to ${credited}`);
});

Deno.test("swarm: a source killed mid-download is dropped and the file still completes", async () => {
  // Many more chunks than the sources have in flight at once, so the killed source is always
  // asked for more after it died (a source whose last answers sat in socket buffers when it was
  // killed would otherwise finish its share unblamed).
  const original = randomBytes(32 * MiB);
  await using out = await makeTempDir();
  await using swarm = await startSwarm({
    bytes: original,
    seeds: ["k1", "k2", "k3"],
    users: ["dl"],
  });
  const { tracker } = swarm;
  await using get = swarm.get("dl", out.path, ["--max-rate", "8MB/s", "--json"]);
  const part = join(out.path, "big.bin.part");
  await pollUntil("the download to verify some chunks", async () => {
    const count = await verifiedChunks(part);
    return count !== undefined && count >= 2 ? count : undefined;
  }, { intervalMs: 50 });
  await swarm.seeds[1]!.kill9();
  const result = await getResult(get, 60_000);
  await swarm.verify(out.path);
  assert.equal(result.sha256, sha256Hex(original));
  // The others took over what k2 did not deliver.
  const others = Object.entries(result.perSource).filter(([user]) => user !== "k2");
  assert.equal(
    others.reduce((sum, [, bytes]) => sum + bytes, 0) + (result.perSource.k2 ?? 0),
    original.length,
  );
  assert.ok(others.some(([, bytes]) => bytes > 0), JSON.stringify(result.perSource));
  const details = await runJson<DetailsJson>("dl", tracker.address, ["details", "big.bin"]);
  const k2 = details.peers.find((p) => p.user === "k2");
  assert.ok(k2 && k2.failures >= 1, `k2 failures: ${JSON.stringify(k2)}`);
});

Deno.test("swarm: a source with a corrupted copy is dropped, counted, and the file is still correct", async () => {
  const original = randomBytes(16 * MiB);
  await using out = await makeTempDir();
  const mtime = new Date("2024-05-06T07:08:09.000Z");
  await using swarm = await startSwarm({
    bytes: original,
    seeds: ["g1", "g2", "bad"],
    users: ["dl"],
    prepare: (dirs) => Deno.utime(join(dirs[2]!, "big.bin"), mtime, mtime),
  });
  const { tracker } = swarm;
  const badCopy = join(swarm.dirs[2]!, "big.bin");
  // Rewrite every byte of bad's copy behind its back, keeping size and mtime.
  await Deno.writeFile(badCopy, randomBytes(original.length));
  await Deno.utime(badCopy, mtime, mtime);
  const result = await swarm.fetch("dl", out.path, ["--max-rate", "8MB/s"]);
  assert.ok(!result.sources.includes("bad"), `sources: ${result.sources}`);
  const details = await runJson<DetailsJson>("dl", tracker.address, ["details", "big.bin"]);
  const bad = details.peers.find((p) => p.user === "bad");
  assert.equal(bad?.failures, 1);
  assert.equal(bad?.downloads, 0);
});

Deno.test("swarm: a downloader killed with SIGKILL resumes and fetches only what is missing", async () => {
  await using out = await makeTempDir();
  const original = randomBytes(12 * MiB);
  await using swarm = await startSwarm({ bytes: original, seeds: ["src"], users: ["dl"] });
  const { tracker } = swarm;
  const part = join(out.path, "big.bin.part");
  {
    await using get = swarm.get("dl", out.path, ["--max-rate", "3MB/s"]);
    await pollUntil("a quarter of the chunks to be verified", async () => {
      const count = await verifiedChunks(part);
      return count !== undefined && count >= 3 ? count : undefined;
    }, { intervalMs: 50 });
    await get.kill9();
  }
  const recorded = (await verifiedChunks(part))!;
  assert.ok(recorded >= 3 && recorded < 12, `recorded ${recorded} chunks`);
  const run = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out.path, "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const result = run.json<GetJson>();
  assert.ok(result.reusedBytes >= recorded * MiB, `reused ${result.reusedBytes}`);
  assert.ok(result.fetchedBytes <= original.length - recorded * MiB);
  assert.equal(result.fetchedBytes + result.reusedBytes, original.length);
  await swarm.verify(out.path);
  assert.equal(await pathExists(part), false);
  assert.equal(await pathExists(`${part}.json`), false);
});

Deno.test("swarm: --prefix fetches every file under a folder and many names report failures", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 20; i++) files[`photos/img-${i}.raw`] = randomBytes(16 * 1024 + i);
  files["photos/sub/deep.raw"] = randomBytes(3 * MiB + 5);
  files["other.txt"] = randomBytes(100);
  for (const [name, bytes] of Object.entries(files)) await writeFile(share.path, name, bytes);
  await using _peer = await startPeer("src", share.path, tracker.address);

  await t.step("get --prefix photos/ downloads the folder and nothing else", async () => {
    const result = await runJson<ManyJson>("dl", tracker.address, [
      "get",
      "--prefix",
      "photos/",
      "--out",
      out.path,
    ]);
    assert.equal(result.failed.length, 0);
    assert.equal(result.files.length, 21);
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(out.path, ...name.split("/"));
      if (name.startsWith("photos/")) assert.ok(sameBytes(await Deno.readFile(path), bytes), name);
      else assert.equal(await pathExists(path), false);
    }
  });

  await t.step("get of several names exits non-zero and names the one that failed", async () => {
    const run = await runAs("dl", tracker.address, [
      "get",
      "other.txt",
      "missing.bin",
      "--out",
      out.path,
    ]);
    assert.notEqual(run.code, 0);
    assert.match(run.stdout, /1 of 2 files downloaded.*failed: missing\.bin/);
    assert.match(run.stderr, /missing\.bin/);
    assert.ok(sameBytes(await Deno.readFile(join(out.path, "other.txt")), files["other.txt"]!));
  });
});

Deno.test("swarm: what a serving peer downloads into its share is announced, so it becomes a source", async () => {
  await using second = await makeTempDir();
  await using swarm = await startSwarm({
    bytes: randomBytes(2 * MiB),
    name: "grow.bin",
    seeds: ["seed"],
    users: ["grower", "dl"],
  });
  const { tracker } = swarm;
  await using _grower = await startPeer("grower", second.path, tracker.address);
  const run = await runAs("grower", tracker.address, ["get", "grow.bin", "--out", second.path]);
  assert.equal(run.code, 0, run.stderr);
  const details = await pollUntil("grower to be listed as a holder", async () => {
    const d = await runJson<DetailsJson>("dl", tracker.address, ["details", "grow.bin"]);
    return d.peers.some((p) => p.user === "grower" && p.online) ? d : undefined;
  });
  assert.equal(details.peers.length, 2);
});

Deno.test("swarm: the progress line is drawn on a terminal and not on a pipe", async () => {
  await using out = await makeTempDir();
  await using swarm = await startSwarm({
    bytes: randomBytes(3 * MiB),
    name: "p.bin",
    seeds: ["src"],
    users: ["dl"],
  });
  const { tracker } = swarm;
  const args = ["get", "p.bin", "--tracker", tracker.address, "--user", "dl", "--force"];

  const piped = await runAs("dl", tracker.address, ["get", "p.bin", "--out", out.path, "--force"]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /\r|ETA|%/);

  // `script` runs the command on a pseudo-terminal and copies what it writes to stdout.
  const command = [Deno.execPath(), "run", "-A", "peer.ts", ...args, "--out", out.path]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const output = await new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: ROOT,
    env: { P2PFS_PASSWORD: PASSWORD },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, text);
  assert.match(text, /p\.bin +\d+%/);
  assert.match(text, /downloaded p\.bin/);

  const quiet = await new Deno.Command("script", {
    args: ["-qefc", `${command} --quiet`, "/dev/null"],
    cwd: ROOT,
    env: { P2PFS_PASSWORD: PASSWORD },
    stdin: "null",
  }).output();
  assert.doesNotMatch(new TextDecoder().decode(quiet.stdout), /p\.bin +\d+%/);
});

Deno.test("swarm: --max-rate and --max-upload hold a transfer to about the rate (generous slack)", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using limited = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["src", "slow", "dl"]);
  const original = randomBytes(8 * MiB);
  await writeFile(share.path, "r.bin", original);
  await writeFile(limited.path, "u.bin", original);
  await using _peer = await startPeer("src", share.path, tracker.address);
  await using _slow = new Spawned("peer slow", [
    "peer.ts",
    "serve",
    "--share",
    limited.path,
    "--max-upload",
    "4MB/s",
    "--tracker",
    tracker.address,
    "--user",
    "slow",
  ], { P2PFS_PASSWORD: PASSWORD });
  await _slow.waitForLine(/^peer slow serving 1 files/);

  // 8 MiB at 4 MB/s takes ≈ 2.1 s; a limiter can only make it slower, so only a floor is asserted.
  const down = await runJson<GetJson>("dl", tracker.address, [
    "get",
    "r.bin",
    "--out",
    out.path,
    "--max-rate",
    "4MB/s",
  ]);
  assert.ok(down.seconds >= 1.2, `download took ${down.seconds} s at --max-rate 4MB/s`);
  const up = await runJson<GetJson>("dl", tracker.address, ["get", "u.bin", "--out", out.path]);
  assert.ok(up.seconds >= 1.2, `download took ${up.seconds} s from a 4 MB/s uploader`);
  assert.ok(sameBytes(await Deno.readFile(join(out.path, "u.bin")), original));
});
