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
  makeTempDir,
  MiB,
  PASSWORD,
  pollUntil,
  randomBytes,
  registerUsers,
  runAs,
  runJson,
  sameBytes,
  Spawned,
  startPeer,
  startTracker,
  type TempDir,
  writeFile,
} from "./_harness.ts";

/** A `get` running in the background as `user`. */
function spawnGet(user: string, trackerAddress: string, args: string[]): Spawned {
  return new Spawned(
    `get as ${user}`,
    ["peer.ts", "get", ...args, "--tracker", trackerAddress, "--user", user],
    { P2PFS_PASSWORD: PASSWORD },
  );
}

/** Waits for a background `get --json` to exit 0 and parses its result. */
async function result(get: Spawned): Promise<GetJson> {
  const status = await get.wait();
  assert.equal(status.code, 0, `${get.label} failed:\n${get.stderr}`);
  return JSON.parse(get.lines.join("\n")) as GetJson;
}

/** A seed `s0` sharing `big.bin` = `bytes`, its upload capped at `rate`. */
async function seed(trackerAddress: string, bytes: Uint8Array, rate: string, users: string[]) {
  const folder = await makeTempDir();
  await registerUsers(trackerAddress, ["s0", ...users]);
  await writeFile(folder.path, "big.bin", bytes);
  const peer = await startPeer("s0", folder.path, trackerAddress, {
    args: ["--max-upload", rate],
  });
  return {
    peer,
    async [Symbol.asyncDispose]() {
      await peer[Symbol.asyncDispose]();
      await folder[Symbol.asyncDispose]();
    },
  };
}

Deno.test("partial holders: three downloaders started together trade chunks and the seed sends fewer than three copies", async () => {
  await using tracker = await startTracker();
  const original = randomBytes(32 * MiB);
  await using _seed = await seed(tracker.address, original, "6MB/s", ["d1", "d2", "d3"]);
  const outs: TempDir[] = [];
  const gets: Spawned[] = [];
  try {
    for (const user of ["d1", "d2", "d3"]) {
      const out = await makeTempDir();
      outs.push(out);
      gets.push(
        spawnGet(user, tracker.address, ["big.bin", "--out", out.path, "--json", "--quiet"]),
      );
    }
    const results = await Promise.all(gets.map(result));
    let fromSeed = 0;
    for (const [i, r] of results.entries()) {
      const user = `d${i + 1}`;
      assert.ok(
        sameBytes(await Deno.readFile(join(outs[i]!.path, "big.bin")), original),
        `${user}'s copy differs`,
      );
      const others = Object.entries(r.perSource).filter(([u, b]) => u !== "s0" && b > 0);
      assert.ok(
        others.length > 0,
        `${user} took nothing from another downloader: ${JSON.stringify(r.perSource)}`,
      );
      fromSeed += r.perSource.s0 ?? 0;
    }
    assert.ok(fromSeed < 3 * original.length, `the seed sent ${fromSeed / original.length} copies`);
  } finally {
    for (const get of gets) await get[Symbol.asyncDispose]();
    for (const out of outs) await out[Symbol.asyncDispose]();
  }
});

Deno.test("partial holders: with --no-upload a downloader serves nothing and is never listed", async () => {
  await using tracker = await startTracker();
  const original = randomBytes(8 * MiB);
  await using _seed = await seed(tracker.address, original, "8MB/s", ["n1", "n2"]);
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  await using get1 = spawnGet("n1", tracker.address, [
    "big.bin",
    "--out",
    out1.path,
    "--json",
    "--quiet",
    "--no-upload",
  ]);
  await using get2 = spawnGet("n2", tracker.address, [
    "big.bin",
    "--out",
    out2.path,
    "--json",
    "--quiet",
    "--no-upload",
  ]);
  // While both run, the tracker lists only the seed.
  const details = await runJson<DetailsJson>("s0", tracker.address, ["details", "big.bin"]);
  assert.deepEqual(details.peers.map((p) => p.user), ["s0"]);
  for (const r of [await result(get1), await result(get2)]) {
    assert.deepEqual(Object.keys(r.perSource), ["s0"]);
  }
});

Deno.test("partial holders: a resumed get is listed with what it kept, and --seed-for serves the finished file then exits", async () => {
  await using tracker = await startTracker();
  const original = randomBytes(16 * MiB);
  await using seedPeer = await seed(tracker.address, original, "4MB/s", ["r1", "r2"]);
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  const part = join(out1.path, "big.bin.part");
  // A first run is stopped once it has verified some chunks.
  {
    await using first = spawnGet("r1", tracker.address, ["big.bin", "--out", out1.path, "--quiet"]);
    await pollUntil("the first run verified a chunk", async () => {
      try {
        const state = JSON.parse(await Deno.readTextFile(`${part}.json`)) as { verified: string };
        return Uint8Array.fromBase64(state.verified).some((b) => b !== 0) || undefined;
      } catch {
        return undefined;
      }
    });
    await first.kill9();
  }
  await using second = spawnGet("r1", tracker.address, [
    "big.bin",
    "--out",
    out1.path,
    "--json",
    "--quiet",
    "--seed-for",
    "15s",
  ]);
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
  await seedPeer.peer.stop();
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
  assert.ok(sameBytes(await Deno.readFile(join(out2.path, "big.bin")), original));
  // r1 keeps seeding until --seed-for ends, then exits by itself.
  assert.equal((await second.wait()).code, 0, second.stderr);
});

Deno.test("partial holders: one killed mid-way is dropped and the other downloader finishes", async () => {
  await using tracker = await startTracker();
  const original = randomBytes(16 * MiB);
  await using _seed = await seed(tracker.address, original, "4MB/s", ["k1", "k2"]);
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  await using victim = spawnGet("k1", tracker.address, ["big.bin", "--out", out1.path, "--quiet"]);
  await using survivor = spawnGet("k2", tracker.address, [
    "big.bin",
    "--out",
    out2.path,
    "--json",
    "--quiet",
  ]);
  // Once the tracker lists k1 with something to share, it is killed without a word.
  await pollUntil("k1 shares chunks", async () => {
    const d = await runJson<DetailsJson>("s0", tracker.address, ["details", "big.bin"]);
    return d.peers.some((p) => p.user === "k1" && p.progress > 0) || undefined;
  });
  await victim.kill9();
  await result(survivor);
  assert.ok(sameBytes(await Deno.readFile(join(out2.path, "big.bin")), original));
});

Deno.test("partial holders: one that serves a corrupt chunk is dropped and blamed", async () => {
  await using tracker = await startTracker();
  const original = randomBytes(8 * MiB);
  await using _seed = await seed(tracker.address, original, "4MB/s", ["liar", "honest"]);
  await using out1 = await makeTempDir();
  await using out2 = await makeTempDir();
  await using liar = spawnGet("liar", tracker.address, [
    "big.bin",
    "--out",
    out1.path,
    "--json",
    "--quiet",
    "--seed-for",
    "60s",
  ]);
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
  assert.ok(sameBytes(await Deno.readFile(join(out2.path, "big.bin")), original));
  assert.match(run.stderr, /dropped source liar \(corrupt/);
  const details = await runJson<DetailsJson>("s0", tracker.address, ["details", "big.bin"]);
  const blamed = details.peers.find((p) => p.user === "liar");
  assert.ok(blamed && blamed.failures >= 1, `liar not blamed: ${JSON.stringify(details.peers)}`);
  await liar.stop();
});
