// The KV plumbing under the tracker's role stores: commits that wait out a locked file, and the
// batching of big mutation sets under KV's limits.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { FileManifest } from "../../lib/protocol/mod.ts";
import { batches, MAX_MUTATIONS } from "../../lib/tracker/kv_plumbing.ts";
import { KvTrackerStore } from "../../lib/tracker/mod.ts";

/** A fault for `beforeCommit`: every other commit attempt finds the file locked. */
function lockedEveryOtherAttempt(): { beforeCommit: () => Promise<void>; attempts: () => number } {
  let attempts = 0;
  return {
    attempts: () => attempts,
    beforeCommit: () => {
      attempts++;
      if (attempts % 2 === 1) {
        return Promise.reject(new Error("database is locked"));
      }
      return Promise.resolve();
    },
  };
}

function manifest(name: string, chunks: number): FileManifest {
  const hex = (n: number) => n.toString(16).padStart(64, "0");
  return {
    name,
    size: chunks,
    chunkSize: 1,
    sha256: hex(name.length),
    chunkHashes: Array.from({ length: chunks }, (_, i) => hex(i)),
  };
}

Deno.test("a commit that finds the KV file locked waits and tries again, and every write lands exactly once", async () => {
  const fault = lockedEveryOtherAttempt();
  await using store = await KvTrackerStore.open(":memory:", { beforeCommit: fault.beforeCommit });
  const record = { host: "127.0.0.1", port: 1, lastSeen: 0, online: true, session: "s" };
  const password = { salt: "00".repeat(16), hash: "11".repeat(32), N: 2, r: 1, p: 1 };
  for (let i = 0; i < 5; i++) await store.addStat("ann", "downloads", 1);
  await store.putPeer("ann", record);
  assert.ok(await store.createUser("bob", { password, createdAt: 1 }));
  assert.equal(await store.createUser("BOB", { password, createdAt: 2 }), false);
  // Sums are not idempotent: a retried commit that landed twice would count twice.
  assert.deepEqual(await store.getStats("ann"), { downloads: 5, failures: 0 });
  // One change entry per logged write, numbered without a hole.
  const changes = await store.readChanges(store.writer, 0, 100);
  assert.deepEqual(changes.map((c) => c.seq), [0, 1, 2, 3, 4, 5]);
  assert.equal((await store.getUser("bob"))?.createdAt, 1);
  // Every commit above was tried twice: once locked, once for real.
  assert.equal(fault.attempts() % 2, 0);
  assert.ok(fault.attempts() >= 2 * 8);
});

Deno.test("a commit that fails for another reason than a lock is not tried again", async () => {
  let attempts = 0;
  await using store = await KvTrackerStore.open(":memory:", {
    beforeCommit: () => {
      attempts++;
      return Promise.reject(new Error("disk I/O error"));
    },
  });
  await assert.rejects(store.addStat("ann", "downloads", 1), /disk I\/O error/);
  assert.equal(attempts, 1);
});

Deno.test("two trackers on one KV file writing the same keys at once land every write exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-plumbing-" });
  try {
    const path = join(dir, "tracker.kv");
    await using a = await KvTrackerStore.open(path);
    await using b = await KvTrackerStore.open(path);
    const writes = 20;
    await Promise.all(
      Array.from({ length: writes }, (_, i) => [
        a.addStat("ann", "downloads", 1),
        b.addStat("ann", "downloads", 1),
        a.putShares("ann", [manifest("a.txt", 1 + (i % 3))], true),
        b.putShares("ann", [manifest("a.txt", 1 + ((i + 1) % 3))], true),
      ]).flat(),
    );
    assert.deepEqual(await a.getStats("ann"), { downloads: 2 * writes, failures: 0 });
    // However the announces interleaved, the user holds exactly one version of a.txt.
    assert.equal((await b.listHolders("a.txt")).length, 1);
    const logged = [
      ...await a.readChanges(a.writer, 0, 1000),
      ...await a.readChanges(b.writer, 0, 1000),
    ];
    assert.equal(logged.filter((c) => c.change.counts).length, 2 * writes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("batches() never puts more than MAX_MUTATIONS mutations or maxBytes bytes in one commit", () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);
  const byMutations = batches(items, { mutations: () => 3 });
  assert.ok(byMutations.every((b) => b.length * 3 <= MAX_MUTATIONS));
  assert.equal(byMutations[0]!.length, Math.floor(MAX_MUTATIONS / 3));
  assert.deepEqual(byMutations.flat(), items);
  const byBytes = batches(items, { bytes: () => 100, maxBytes: 1000 });
  assert.ok(byBytes.every((b) => b.length === 10));
  const heavy = batches([1, 5000, 2], { bytes: (n) => n, maxBytes: 1000 });
  assert.deepEqual(heavy, [[1], [5000], [2]]);
  assert.deepEqual(batches([], {}), []);
});
