import assert from "node:assert/strict";
import { join } from "node:path";
import type { FileManifest } from "../../lib/protocol/mod.ts";
import {
  CHANGE_RETENTION_MS,
  type HolderIndex,
  IndexFollower,
  KvTrackerStore,
  type PeerRecord,
} from "../../lib/tracker/mod.ts";

/** A manifest whose content (and so id) depends on `fill`. */
function manifest(name: string, fill: string): FileManifest {
  return {
    name,
    size: 10 + fill.charCodeAt(0),
    chunkSize: 1 << 20,
    sha256: fill.repeat(64),
    chunkHashes: [fill.repeat(64)],
  };
}

/** Everything an index holds, in a comparable order. */
function snapshot(index: HolderIndex) {
  const rows = index.versions.flatMap((v) =>
    [...v.holders.values()].map((h) => `${h.name}|${h.id}|${h.user}|${h.size}`)
  ).sort();
  const peers = [...index.peers].map(([user, p]) => `${user}|${p.port}|${p.online}|${p.lastSeen}`)
    .sort();
  const order = index.versions.map((v) => `${v.name}|${v.id}`);
  return { rows, peers, order };
}

/** A small deterministic random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("IndexFollower on a second connection to one KV file ends equal to a fresh load after random announces, replaces, logouts and heartbeats", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-follow-" });
  try {
    const path = join(dir, "tracker.kv");
    await using writer = await KvTrackerStore.open(path);
    await using reader = await KvTrackerStore.open(path);
    const follower = new IndexFollower(reader);
    await follower.catchUp();
    const next = random(7);
    const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
    const users = ["ann", "bob", "cy", "dee"];
    const names = ["a.txt", "b.txt", "c/d.txt", "e.bin", "F.txt"];
    const fills = ["a", "b", "c"];
    for (let step = 0; step < 120; step++) {
      const user = pick(users);
      const roll = next();
      if (roll < 0.6) {
        const files = names.filter(() => next() < 0.4).map((n) => manifest(n, pick(fills)));
        await writer.putShares(user, files, next() < 0.5);
      } else if (roll < 0.75) {
        const record: PeerRecord = {
          host: "127.0.0.1",
          port: 1000 + step,
          lastSeen: step,
          online: next() < 0.7,
          session: `s-${user}`,
        };
        await writer.putPeer(user, record);
      } else {
        await writer.putAlive(new Map([[user, { session: `s-${user}`, lastSeen: 1000 + step }]]));
      }
      // Read now and then, as a tracker's timer would; the rest piles up for the next read.
      if (next() < 0.2) await follower.catchUp();
    }
    await follower.catchUp();
    const fresh = new IndexFollower(reader);
    await fresh.catchUp();
    assert.deepEqual(snapshot(follower.index), snapshot(fresh.index));
    assert.ok(follower.index.rows > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("IndexFollower that fell behind the change log's retention loads the whole index again and ends equal to a fresh load", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-follow-" });
  try {
    const path = join(dir, "tracker.kv");
    await using store = await KvTrackerStore.open(path);
    let clock = 1_000_000;
    const follower = new IndexFollower(store, { now: () => clock });
    await store.putShares("ann", [manifest("a.txt", "a")], false);
    await follower.catchUp();
    assert.equal(follower.index.rows, 1);
    // While the follower does not read, the index changes and the entries saying so expire.
    await store.putShares("ann", [], true);
    await store.putShares("bob", [manifest("b.txt", "b"), manifest("c.txt", "c")], false);
    await store.putPeer("bob", peer(7));
    {
      using kv = await Deno.openKv(path);
      for await (const entry of kv.list({ prefix: ["change"] })) await kv.delete(entry.key);
    }
    clock += CHANGE_RETENTION_MS;
    // The writer goes on: its next entry is all the follower finds of it.
    await store.putShares("cy", [manifest("d.txt", "d")], false);
    await follower.catchUp();
    const fresh = new IndexFollower(store);
    await fresh.catchUp();
    assert.deepEqual(snapshot(follower.index), snapshot(fresh.index));
    assert.deepEqual(snapshot(follower.index).rows.map((r) => r.split("|")[0]), [
      "b.txt",
      "c.txt",
      "d.txt",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("IndexFollower applies a change entry twice without a difference", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  const follower = new IndexFollower(store);
  await follower.catchUp();
  await store.putShares("ann", [manifest("a.txt", "a")], false);
  await follower.catchUp();
  await follower.catchUp(); // nothing new: reads nothing again
  await follower.applyLocal({ holders: [["a.txt", follower.index.versions[0]!.id, "ann"]] });
  assert.equal(follower.index.rows, 1);
  await store.putShares("ann", [], true);
  await follower.catchUp();
  assert.equal(follower.index.rows, 0);
  assert.equal(follower.index.versions.length, 0);
});

Deno.test("putShares appends a change entry in the same commit as the holder rows it writes", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  await store.putShares("ann", [manifest("a.txt", "a"), manifest("b.txt", "b")], false);
  const changes = await store.readChanges(store.writer, 0, 100);
  const holders = changes.flatMap((c) => c.change.holders ?? []).map((k) => k[0]).sort();
  assert.deepEqual(holders, ["a.txt", "b.txt"]);
});

const peer = (port: number): PeerRecord => ({
  host: "127.0.0.1",
  port,
  lastSeen: 0,
  online: true,
  session: "s",
});

Deno.test("IndexFollower applies a commit held back longer than any window once it lands, on a follower that was reading meanwhile and on one that loaded meanwhile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-follow-" });
  try {
    const path = join(dir, "tracker.kv");
    const { promise: held, resolve: release } = Promise.withResolvers<void>();
    await using writer = await KvTrackerStore.open(path, {
      beforeChangeCommit: async (change) => {
        if (change.peers?.includes("late")) await held;
      },
    });
    await using other = await KvTrackerStore.open(path);
    await using reader = await KvTrackerStore.open(path);
    const follower = new IndexFollower(reader);
    await follower.catchUp();
    // The held commit's number (and its clock time) is taken now.
    const late = writer.putPeer("late", peer(1));
    // Later entries of the same writer and of another land and are read, for longer than the
    // 2 s overlap the log was once read with (a hold, not a wait for an outcome).
    const holdUntil = Date.now() + 2_500;
    let port = 2;
    while (Date.now() < holdUntil) {
      await writer.putPeer("early", peer(port++));
      await other.putPeer("other", peer(port++));
      await follower.catchUp();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(follower.index.peer("late"), undefined);
    assert.equal(follower.gaps, 1);
    const loadedMeanwhile = new IndexFollower(reader);
    await loadedMeanwhile.catchUp();
    assert.equal(loadedMeanwhile.index.peer("late"), undefined);
    release();
    await late;
    await follower.catchUp();
    await loadedMeanwhile.catchUp();
    assert.equal(follower.index.peer("late")?.port, 1);
    assert.equal(loadedMeanwhile.index.peer("late")?.port, 1);
    assert.equal(follower.gaps, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("IndexFollower stops awaiting the number of a commit that failed once a later entry says it finished", async () => {
  await using store = await KvTrackerStore.open(":memory:", {
    beforeChangeCommit: (change) =>
      change.peers?.includes("doomed")
        ? Promise.reject(new Error("injected commit failure"))
        : Promise.resolve(),
  });
  const follower = new IndexFollower(store);
  await follower.catchUp();
  await assert.rejects(store.putPeer("doomed", peer(1)), /injected commit failure/);
  await store.putPeer("ann", peer(2));
  await follower.catchUp();
  assert.equal(follower.gaps, 1); // not yet known finished on the read that found the gap
  await follower.catchUp();
  assert.equal(follower.gaps, 0);
  assert.equal(follower.index.peer("ann")?.port, 2);
  assert.equal(follower.index.peer("doomed"), undefined);
});
