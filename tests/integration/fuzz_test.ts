/**
 * A live fuzz run: thousands of random and mutated frames against a running tracker and a running
 * serving peer (real processes), after which both must still serve a normal client, must never
 * have answered `INTERNAL`, and must not have grown their resident memory by more than
 * {@link RSS_GROWTH_LIMIT_MB}. Set `FUZZ_SEED` to replay a run; the seed is printed on failure.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_CHUNK_SIZE, TrackerClient } from "../../lib/peer/mod.ts";
import { manifestId } from "../../lib/protocol/mod.ts";
import { type Context, fuzzTarget, peerMessage, Random, rssMb, trackerMessage } from "./_fuzz.ts";
import {
  type GetJson,
  type ListedFile,
  makeTempDir,
  PASSWORD,
  randomBytes,
  registerUsers,
  runJson,
  sameBytes,
  sha256Hex,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

/** Frames sent to each target at most (`FUZZ_FRAMES` overrides, for longer runs by hand). */
const FRAMES_PER_TARGET = Number(Deno.env.get("FUZZ_FRAMES") ?? 3_000);
/** Connections open at once against each target (two targets: at most 20 in all). */
const LANES_PER_TARGET = 10;
/** The fuzzing stops after this long even if fewer frames were sent (`FUZZ_MS` overrides). */
const FUZZ_MS = Number(Deno.env.get("FUZZ_MS") ?? 15_000);
/**
 * Largest allowed growth of a target's resident set over the run. Measured here: the tracker grows
 * ≈ 25 MB and the peer ≈ 70 MB over 3,000 frames, and both level off (≈ 160 MB for the tracker
 * after 80,000 frames) while the JS heap after a full GC stays flat (≈ 8 MB): what grows is freed
 * 1 MiB buffers (each frame at the size limit, and the peer's send buffer of every connection)
 * that the allocator keeps rather than returns, not live objects. A leak of one buffer per
 * connection (≈ 600 per run) crosses this.
 */
const RSS_GROWTH_LIMIT_MB = 128;

Deno.test("tracker and peer survive thousands of random and mutated frames, then serve a normal client with bounded memory", async () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const why = `(FUZZ_SEED=${seed})`;
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["seeder", "reader", "fuzzer"]);
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  const content = await writeFile(share.path, "fuzz/target.bin", randomBytes(300_000));
  await using seeder = await startPeer("seeder", share.path, tracker.address);

  const client = await TrackerClient.connect({ hostname: "127.0.0.1", port: tracker.port });
  let token: string;
  try {
    token = (await client.login("fuzzer", PASSWORD)).token;
  } finally {
    client.close();
  }
  const json = fc.sample(
    fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(
        fc.constantFrom("type", "token", "name", "files", "version"),
        fc.jsonValue({
          maxDepth: 2,
        }),
      ),
    ),
    { numRuns: 500, seed },
  );
  const context = (offset: number): Context => ({
    random: new Random(seed + offset),
    token,
    file: {
      name: "fuzz/target.bin",
      sha256: sha256Hex(content),
      // One chunk: the peer indexes in 1 MiB chunks.
      id: manifestId({
        size: content.length,
        chunkSize: DEFAULT_CHUNK_SIZE,
        sha256: sha256Hex(content),
        chunkHashes: [sha256Hex(content)],
      }),
      size: content.length,
    },
    json,
  });

  const before = {
    tracker: await rssMb(tracker.process.pid),
    peer: await rssMb(seeder.process.pid),
  };
  const deadline = AbortSignal.timeout(FUZZ_MS);
  const options = { frames: FRAMES_PER_TARGET, lanes: LANES_PER_TARGET, signal: deadline };
  const [trackerStats, peerStats] = await Promise.all([
    fuzzTarget(tracker.port, context(1), trackerMessage, options),
    fuzzTarget(seeder.port, context(2), peerMessage, options),
  ]);
  const after = {
    tracker: await rssMb(tracker.process.pid),
    peer: await rssMb(seeder.process.pid),
  };
  const summary = JSON.stringify({ seed, trackerStats, peerStats, before, after });

  assert.ok(trackerStats.frames > 0 && peerStats.frames > 0, summary);
  assert.equal(trackerStats.codes.INTERNAL ?? 0, 0, `tracker answered INTERNAL ${summary}`);
  assert.equal(peerStats.codes.INTERNAL ?? 0, 0, `peer answered INTERNAL ${summary}`);
  assert.doesNotMatch(tracker.process.stderr, /internal error/, why);
  assert.ok(after.tracker - before.tracker < RSS_GROWTH_LIMIT_MB, `tracker RSS ${summary}`);
  assert.ok(after.peer - before.peer < RSS_GROWTH_LIMIT_MB, `peer RSS ${summary}`);

  // Both still serve a normal client: list, then a verified download from the fuzzed peer.
  const listed = await runJson<ListedFile[]>("reader", tracker.address, ["list"]);
  const entry = listed.find((file) => file.name === "fuzz/target.bin");
  assert.ok(entry && entry.sources === 1, `list after fuzzing ${why}: ${JSON.stringify(listed)}`);
  const got = await runJson<GetJson>("reader", tracker.address, [
    "get",
    "fuzz/target.bin",
    "--out",
    out.path,
    "--quiet",
  ]);
  assert.deepEqual(got.sources, ["seeder"], why);
  assert.ok(sameBytes(await Deno.readFile(got.path), content), `downloaded bytes ${why}`);
});
