// Opening a KV written in the previous key layout: the file index and the sessions go (peers
// rebuild them by logging in and announcing again), accounts and counts stay.
import assert from "node:assert/strict";
import { join } from "node:path";
import { KvTrackerStore, STORE_LAYOUT } from "../../lib/tracker/mod.ts";

const user = {
  name: "ann",
  password: { salt: "00".repeat(16), hash: "11".repeat(32), N: 2, r: 1, p: 1 },
  createdAt: 1,
};

/** Writes, with a bare KV handle, what a tracker of layout `layout` (none: the first) left. */
async function writeOldLayout(path: string, layout: number | null): Promise<void> {
  using kv = await Deno.openKv(path);
  const sha = "ab".repeat(32);
  const op = kv.atomic()
    .set(["user", "ann"], user)
    .set(["stat", "ann", "downloads"], new Deno.KvU64(2500n))
    // Versions keyed by whole-file hash, as the layout before manifest ids had them.
    .set(["holder", "a.txt", sha, "ann"], { size: 1, chunkSize: 1, sha256: sha })
    .set(["share", "ann", "a.txt"], { sha256: sha })
    .set(["manifest", sha], { size: 1, chunkSize: 1, sha256: sha, chunkCount: 1, parts: 1 })
    .set(["session", "cd".repeat(32)], { user: "ann", expiresAt: Number.MAX_SAFE_INTEGER })
    .set(["user_session", "ann", "cd".repeat(32)], {
      user: "ann",
      expiresAt: Number.MAX_SAFE_INTEGER,
    });
  if (layout !== null) op.set(["meta", "layout"], layout);
  assert.ok((await op.commit()).ok);
}

for (const layout of [null, STORE_LAYOUT - 1]) {
  Deno.test(`KvTrackerStore opening a KV of layout ${layout ?? "none"} drops the file index and sessions and keeps accounts and counts`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "p2pfs-layout-" });
    try {
      const path = join(dir, "tracker.kv");
      await writeOldLayout(path, layout);
      {
        await using store = await KvTrackerStore.open(path);
        assert.deepEqual(await store.listHolders(), []);
        assert.equal(await store.getChunkHashes("ab".repeat(32)), null);
        assert.equal(await store.getSession("cd".repeat(32), 0), null);
        assert.deepEqual(await store.listSessions("ann", 0), new Map());
        assert.deepEqual(await store.getUser("ann"), user);
        assert.deepEqual(await store.getStats("ann"), { downloads: 2.5, failures: 0 });
      }
      using kv = await Deno.openKv(path);
      assert.equal((await kv.get(["meta", "layout"])).value, STORE_LAYOUT);
      const left = await Array.fromAsync(kv.list({ prefix: [] }));
      assert.deepEqual(left.map((e) => e.key[0]).sort(), ["meta", "stat", "user"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("KvTrackerStore opening a KV of the current layout keeps its file index and sessions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-layout-" });
  try {
    const path = join(dir, "tracker.kv");
    await writeOldLayout(path, STORE_LAYOUT);
    await using store = await KvTrackerStore.open(path);
    assert.equal((await store.listHolders()).length, 1);
    assert.equal((await store.listSessions("ann", 0)).size, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
