/**
 * Liars pay, on a real tracker process: `progress` is accepted only on a version someone shares
 * and only from a member that asked `details` of it; a flood of made-up `progress` leaves the
 * tracker's memory alone; made-up versions cannot inflate a source's count past the per-pair cap.
 *
 * The tracker runs with `--no-sandbox` so that the process spawned is the tracker itself (its
 * resident set is the one measured).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type FileManifest,
  manifestId,
  MAX_COUNTED_PER_PAIR,
  RemoteError,
} from "../../lib/protocol/mod.ts";
import { rssMb } from "./_fuzz.ts";
import { loggedIn, registerUsers, startTracker, withTimeout } from "./_harness.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** A made-up one-chunk version: nobody has its bytes, but it adds up. */
function madeUp(name: string, seed: string): FileManifest {
  return { name, size: 1000, chunkSize: 65536, sha256: sha(seed), chunkHashes: [sha(`${seed}#0`)] };
}

/** A three-chunk file, announced by the seed (no bytes are moved in these tests). */
const real: FileManifest = {
  name: "real.bin",
  size: 3 * 65536,
  chunkSize: 65536,
  sha256: sha("real"),
  chunkHashes: [sha("real#0"), sha("real#1"), sha("real#2")],
};

/** A progress update on version `id` of `name`, served at a made-up port. */
function update(name: string, id: string, progress = 0.5) {
  return { name, id, host: "127.0.0.1", port: 40_000, progress };
}

/** Resolves to the code of the error reply `call` got (fails if it got none). */
async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof RemoteError, `expected an error reply, got ${error}`);
    return error.code;
  }
  assert.fail("expected an error reply, got ok");
}

Deno.test("progress rules on a real tracker: made-up versions and members never handed a version are refused", async (t) => {
  await using tracker = await startTracker({ args: ["--no-sandbox"] });
  const fakes = ["fake1", "fake2", "fake3", "fake4"];
  await registerUsers(tracker.address, ["seed", "dl", "watcher", ...fakes]);
  const seed = await loggedIn(tracker.address, "seed");
  await using _seed = seed.client;
  await seed.client.announce(seed.token, { host: "127.0.0.1", port: 40_001 }, [real]);
  const watcher = await loggedIn(tracker.address, "watcher");
  await using _watcher = watcher.client;
  const listed = async () =>
    (await watcher.client.details(watcher.token, real.name)).peers.map((p) => p.user);

  await t.step(
    "progress on a made-up version of a real file is refused and lists nobody",
    async () => {
      for (const fake of fakes) {
        const { client, token } = await loggedIn(tracker.address, fake);
        await using _client = client;
        const code = await refusal(
          client.progress(token, update(real.name, sha(`made up ${fake}`))),
        );
        assert.equal(code, "NOT_FOUND");
        // Nor the real version, which it never asked for.
        const unasked = update(real.name, manifestId(real));
        assert.equal(await refusal(client.progress(token, unasked)), "FORBIDDEN");
        // A withdrawal is always accepted.
        await client.progress(token, { ...unasked, withdraw: true });
      }
      assert.deepEqual(await listed(), ["seed"]);
    },
  );

  await t.step(
    "progress without details is refused; after details it is accepted and listed",
    async () => {
      const { client, token } = await loggedIn(tracker.address, "dl");
      await using _client = client;
      const early = update(real.name, manifestId(real));
      assert.equal(await refusal(client.progress(token, early)), "FORBIDDEN");
      assert.deepEqual(await listed(), ["seed"]);
      const details = await client.details(token, real.name);
      await client.progress(token, update(real.name, details.id));
      const peers = (await watcher.client.details(watcher.token, real.name)).peers;
      assert.deepEqual(peers.map((p) => [p.user, p.complete, p.progress]), [
        ["seed", true, 1],
        ["dl", false, 0.5],
      ]);
      await client.progress(token, { ...update(real.name, details.id), withdraw: true });
      assert.deepEqual(await listed(), ["seed"]);
    },
  );
});

Deno.test("a flood of progress on made-up versions leaves the tracker's memory bounded and the tracker answering", async () => {
  await using tracker = await startTracker({ args: ["--no-sandbox"] });
  const flooders = ["flood1", "flood2", "flood3", "flood4"];
  await registerUsers(tracker.address, ["seed", ...flooders]);
  const seed = await loggedIn(tracker.address, "seed");
  await using _seed = seed.client;
  await seed.client.announce(seed.token, { host: "127.0.0.1", port: 40_001 }, [real]);
  const clients = await Promise.all(flooders.map((u) => loggedIn(tracker.address, u)));
  const have = "A".repeat(1368); // the longest have-map a progress may carry
  /** `count` progress requests per client: made-up versions, and the real one never asked for. */
  const flood = (count: number, tag: string) =>
    Promise.all(clients.map(async ({ client, token }, c) => {
      const codes = new Map<string, number>();
      for (let i = 0; i < count; i++) {
        const forbidden = i % 4 === 3;
        const id = forbidden ? manifestId(real) : sha(`${tag} ${c} ${i}`);
        const name = forbidden || i % 2 === 0 ? real.name : `made-up-${c}-${i}.bin`;
        const code = await refusal(client.progress(token, { ...update(name, id), have }));
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      return codes;
    }));
  try {
    await withTimeout(flood(200, "warm-up"), 60_000, "the warm-up");
    const before = await rssMb(tracker.process.pid);
    const results = await withTimeout(flood(1000, "flood"), 120_000, "the flood");
    const after = await rssMb(tracker.process.pid);
    for (const codes of results) {
      assert.deepEqual([...codes.keys()].sort(), ["FORBIDDEN", "NOT_FOUND"]);
    }
    assert.ok(after - before < 64, `RSS grew from ${before} MiB to ${after} MiB`);
    // It still answers, and lists nobody but the seed.
    const details = await seed.client.details(seed.token, real.name);
    assert.deepEqual(details.peers.map((p) => p.user), ["seed"]);
  } finally {
    for (const { client } of clients) client.close();
  }
});

Deno.test("200 made-up one-chunk versions reported as full downloads count at most the per-pair cap", async () => {
  await using tracker = await startTracker({ args: ["--no-sandbox"] });
  await registerUsers(tracker.address, ["liar", "friend"]);
  const liar = await loggedIn(tracker.address, "liar");
  await using _liar = liar.client;
  const friend = await loggedIn(tracker.address, "friend");
  await using _friend = friend.client;
  const versions = Array.from({ length: 200 }, (_, i) => madeUp(`made-up-${i}.bin`, `v${i}`));
  await liar.client.announce(liar.token, { host: "127.0.0.1", port: 40_002 }, versions);
  await withTimeout(
    (async () => {
      for (const version of versions) {
        const details = await friend.client.details(friend.token, version.name);
        assert.deepEqual(details.peers.map((p) => p.user), ["liar"]);
        await friend.client.report(friend.token, {
          name: version.name,
          sha256: version.sha256,
          id: details.id,
          source: "liar",
          ok: true,
          bytes: version.size,
        });
      }
    })(),
    120_000,
    "200 details and reports",
  );
  const me = await liar.client.whoami(liar.token);
  assert.equal(me.downloads, MAX_COUNTED_PER_PAIR);
});
