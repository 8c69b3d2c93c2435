/**
 * Every downloader is a source: `get` processes serve the chunks they have verified to each other
 * (partial holders), under the same tickets and checks as serving peers. Slow transfers are made
 * slow with `--max-upload` on the seed, never by waiting.
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
  pollUntil,
  randomBytes,
  runAs,
  runJson,
  Spawned,
  startSwarm,
  type TempDir,
  verifiedChunks,
} from "./_harness.ts";

Deno.test("partial holders: three downloaders started together trade chunks and the seed sends fewer than three copies", async () => {
  const original = randomBytes(32 * MiB);
  await using swarm = await startSwarm({
    bytes: original,
    users: ["d1", "d2", "d3"],
    seedArgs: ["--max-upload", "6MB/s"],
  });
  const outs: TempDir[] = [];
  const gets: Spawned[] = [];
  try {
    for (const user of ["d1", "d2", "d3"]) {
      const out = await makeTempDir();
      outs.push(out);
      gets.push(
        swarm.get(user, out.path, ["--json", "--quiet"]),
      );
    }
    const results = await Promise.all(gets.map((get) => getResult(get)));
    // Trading is judged by what was delivered, not by when: each downloader fetched the whole
    // file, so whatever the seed did not send came from another downloader. Which of them traded
    // depends on who started first, so only the total is asserted.
    let fromSeed = 0;
    let fromDownloaders = 0;
    for (const [i, r] of results.entries()) {
      await swarm.verify(outs[i]!.path);
      const delivered = Object.values(r.perSource).reduce((sum, bytes) => sum + bytes, 0);
      assert.equal(delivered, original.length, JSON.stringify(r.perSource));
      for (const [user, bytes] of Object.entries(r.perSource)) {
        if (user === "s0") fromSeed += bytes;
        else fromDownloaders += bytes;
      }
    }
    const all = JSON.stringify(results.map((r) => r.perSource));
    assert.ok(fromDownloaders > 0, `no downloader took anything from another: ${all}`);
    assert.ok(fromSeed < 3 * original.length, `the seed sent ${fromSeed / original.length} copies`);
  } finally {
    for (const get of gets) await get[Symbol.asyncDispose]();
    for (const out of outs) await out[Symbol.asyncDispose]();
  }
});

Deno.test("partial holders: with --no-upload a downloader serves nothing and is never listed", async () => {
  const original = randomBytes(8 * MiB);
  await using swarm = await startSwarm({
    bytes: original,
    users: ["n1", "n2"],
    seedArgs: ["--max-upload", "8MB/s"],
  });
  const { tracker } = swarm;
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  await using get1 = swarm.get("n1", out1.path, ["--json", "--quiet", "--no-upload"]);
  await using get2 = swarm.get("n2", out2.path, ["--json", "--quiet", "--no-upload"]);
  // While both run, the tracker lists only the seed.
  const details = await runJson<DetailsJson>("s0", tracker.address, ["details", "big.bin"]);
  assert.deepEqual(details.peers.map((p) => p.user), ["s0"]);
  for (const r of [await getResult(get1), await getResult(get2)]) {
    assert.deepEqual(Object.keys(r.perSource), ["s0"]);
  }
});

Deno.test("partial holders: a resumed get is listed with what it kept, and --seed-for serves the finished file then exits", async () => {
  const original = randomBytes(16 * MiB);
  await using swarm = await startSwarm({
    bytes: original,
    users: ["r1", "r2"],
    seedArgs: ["--max-upload", "4MB/s"],
  });
  const { tracker } = swarm;
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  const part = join(out1.path, "big.bin.part");
  // A first run is stopped once it has verified some chunks.
  {
    await using first = swarm.get("r1", out1.path, ["--quiet"]);
    await pollUntil("the first run verified a chunk", async () => {
      const count = await verifiedChunks(part);
      return count !== undefined && count > 0 ? count : undefined;
    });
    await first.kill9();
  }
  await using second = swarm.get("r1", out1.path, ["--json", "--quiet", "--seed-for", "15s"]);
  // Its first listing already counts the chunks kept from the first run.
  const address = await pollUntil(
    "r1 serves",
    () => Promise.resolve(/serving verified chunks on (\S+)/.exec(second.stderr)?.[1]),
  );
  const listed = await pollUntil("r1 is listed", async () => {
    const d = await runJson<DetailsJson>("r2", tracker.address, ["details", "big.bin"]);
    return d.peers.find((p) => p.user === "r1" && p.address === address);
  });
  assert.ok(listed.progress > 0, `r1 listed with progress ${listed.progress}`);
  // Once it finished, the seed goes away and r2 gets the file from r1 alone.
  await pollUntil("r1 finished", () => Promise.resolve(second.lines.length > 0 || undefined));
  await swarm.seeds[0]!.stop();
  const run = await runAs("r2", tracker.address, [
    "get",
    "big.bin",
    "--out",
    out2.path,
    "--json",
    "--quiet",
    "--no-upload",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(Object.keys(run.json<GetJson>().perSource), ["r1"]);
  await swarm.verify(out2.path);
  // r1 keeps seeding until --seed-for ends, then exits by itself.
  assert.equal((await second.wait()).code, 0, second.stderr);
});

Deno.test("partial holders: one killed mid-way is dropped and the other downloader finishes", async () => {
  const original = randomBytes(16 * MiB);
  await using swarm = await startSwarm({
    bytes: original,
    users: ["k1", "k2"],
    seedArgs: ["--max-upload", "4MB/s"],
  });
  const { tracker } = swarm;
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  await using victim = swarm.get("k1", out1.path, ["--quiet"]);
  await using survivor = swarm.get("k2", out2.path, ["--json", "--quiet"]);
  // Once the tracker lists k1 with something to share, it is killed without a word.
  await pollUntil("k1 shares chunks", async () => {
    const d = await runJson<DetailsJson>("s0", tracker.address, ["details", "big.bin"]);
    return d.peers.some((p) => p.user === "k1" && p.progress > 0) || undefined;
  });
  await victim.kill9();
  await getResult(survivor);
  await swarm.verify(out2.path);
});

Deno.test("partial holders: one that serves a corrupt chunk is dropped and blamed", async () => {
  const original = randomBytes(8 * MiB);
  await using swarm = await startSwarm({
    bytes: original,
    users: ["liar", "honest"],
    seedArgs: ["--max-upload", "4MB/s"],
  });
  const { tracker } = swarm;
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  await using liar = swarm.get("liar", out1.path, ["--json", "--quiet", "--seed-for", "60s"]);
  await pollUntil("liar finished", () => Promise.resolve(liar.lines.length > 0 || undefined));
  // Its finished copy is overwritten in place: every chunk it serves from now on is wrong.
  {
    using file = await Deno.open(join(out1.path, "big.bin"), { write: true });
    await file.write(randomBytes(original.length));
  }
  const run = await runAs("honest", tracker.address, [
    "get",
    "big.bin",
    "--out",
    out2.path,
    "--json",
    "--quiet",
    "--no-upload",
  ]);
  assert.equal(run.code, 0, run.stderr);
  await swarm.verify(out2.path);
  assert.match(run.stderr, /dropped source liar \(corrupt/);
  const details = await runJson<DetailsJson>("s0", tracker.address, ["details", "big.bin"]);
  const blamed = details.peers.find((p) => p.user === "liar");
  assert.ok(blamed && blamed.failures >= 1, `liar not blamed: ${JSON.stringify(details.peers)}`);
  await liar.stop();
});
