import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type FileManifest,
  manifestId,
  MAX_COUNTED_PER_PAIR,
  REPORT_WINDOW_MS,
} from "../../lib/protocol/mod.ts";
import {
  type HolderRow,
  KvTrackerStore,
  TicketIssuer,
  type TrackerStore,
  type UserRecord,
} from "../../lib/tracker/mod.ts";

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function user(createdAt: number): UserRecord {
  return {
    password: { salt: "00".repeat(16), hash: "11".repeat(32), N: 2, r: 1, p: 1 },
    createdAt,
  };
}

function file(name: string, version = "v1", chunks = 2, chunkSize = 1024): FileManifest {
  return {
    name,
    size: chunks * chunkSize,
    chunkSize,
    sha256: sha(`${name}@${version}`),
    chunkHashes: Array.from({ length: chunks }, (_, i) => sha(`${name}@${version}#${i}`)),
  };
}

function rows(holders: HolderRow[]): string[] {
  return holders.map((h) => `${h.name}|${h.user}|${h.sha256.slice(0, 8)}|${h.size}|${h.chunkSize}`)
    .sort();
}

function row(f: FileManifest, user: string): string {
  return `${f.name}|${user}|${f.sha256.slice(0, 8)}|${f.size}|${f.chunkSize}`;
}

/** A store under test plus how to get rid of it. */
interface Fixture extends AsyncDisposable {
  store: TrackerStore;
  /** Closes the store and opens the same data again (file stores only). */
  reopen?: () => Promise<TrackerStore>;
}

interface Implementation {
  name: string;
  open(): Promise<Fixture>;
}

const implementations: Implementation[] = [
  {
    name: "KvTrackerStore on :memory:",
    async open() {
      const store = await KvTrackerStore.open(":memory:");
      return { store, [Symbol.asyncDispose]: () => store[Symbol.asyncDispose]() };
    },
  },
  {
    name: "KvTrackerStore on a file",
    async open() {
      const dir = await Deno.makeTempDir({ prefix: "p2pfs-store-test-" });
      const path = join(dir, "tracker.kv");
      const fixture: Fixture = {
        store: await KvTrackerStore.open(path),
        reopen: async () => {
          await fixture.store[Symbol.asyncDispose]();
          fixture.store = await KvTrackerStore.open(path);
          return fixture.store;
        },
        [Symbol.asyncDispose]: async () => {
          await fixture.store[Symbol.asyncDispose]();
          await Deno.remove(dir, { recursive: true });
        },
      };
      return fixture;
    },
  },
];

/** The suite every {@link TrackerStore} must pass. */
const cases: Array<[string, (store: TrackerStore) => Promise<void>]> = [
  ["createUser() creates a name once and keeps the first record", async (store) => {
    assert.equal(await store.getUser("ann"), null);
    assert.equal(await store.createUser("ann", user(1)), true);
    assert.equal(await store.createUser("ann", user(2)), false);
    // The first account of a store is its admin; no other is.
    assert.deepEqual(await store.getUser("ann"), { ...user(1), name: "ann", admin: true });
    assert.equal(await store.createUser("bob", user(3)), true);
    assert.deepEqual(await store.getUser("bob"), { ...user(3), name: "bob" });
  }],
  [
    "createUser() treats names that differ only in case as one, kept as first spelled",
    async (store) => {
      assert.equal(await store.createUser("Alice", user(1)), true);
      assert.equal(await store.createUser("alice", user(2)), false);
      assert.equal(await store.createUser("ALICE", user(3)), false);
      for (const spelling of ["Alice", "alice", "aLiCe"]) {
        assert.deepEqual(await store.getUser(spelling), { ...user(1), name: "Alice", admin: true });
      }
    },
  ],
  ["createUser() lets exactly one of 10 concurrent calls for one name win", async (store) => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.createUser("race", user(i))),
    );
    assert.equal(results.filter((ok) => ok).length, 1);
    const winner = results.indexOf(true);
    assert.deepEqual(await store.getUser("race"), { ...user(winner), name: "race", admin: true });
  }],
  ["getSession() returns the session until expiresAt, judged by the given now", async (store) => {
    const expiresAt = Date.now() + 60_000;
    await store.putSession("h1", { user: "ann", expiresAt }, expiresAt - 60_000);
    assert.deepEqual(await store.getSession("h1", expiresAt - 60_000), { user: "ann", expiresAt });
    assert.deepEqual(await store.getSession("h1", expiresAt - 1), { user: "ann", expiresAt });
    assert.equal(await store.getSession("h1", expiresAt), null);
    assert.equal(await store.getSession("h1", expiresAt + 1), null);
    assert.equal(await store.getSession("unknown", expiresAt - 1), null);
  }],
  ["deleteSession() removes only that session", async (store) => {
    const expiresAt = Date.now() + 60_000;
    await store.putSession("h1", { user: "ann", expiresAt }, expiresAt - 60_000);
    await store.putSession("h2", { user: "ann", expiresAt }, expiresAt - 60_000);
    await store.deleteSession("h1");
    assert.equal(await store.getSession("h1", expiresAt - 1), null);
    assert.deepEqual(await store.getSession("h2", expiresAt - 1), { user: "ann", expiresAt });
  }],
  ["putPeer() stores an address record that getPeer() and listPeers() return", async (store) => {
    assert.equal(await store.getPeer("ann"), null);
    assert.equal((await store.listPeers()).size, 0);
    const ann = { host: "10.0.0.1", port: 7071, lastSeen: 5, online: true, session: "s1" };
    const bob = { host: "10.0.0.2", port: 7072, lastSeen: 6, online: false, session: "s2" };
    await store.putPeer("ann", ann);
    await store.putPeer("bob", bob);
    await store.putPeer("ann", { ...ann, lastSeen: 9 });
    assert.deepEqual(await store.getPeer("ann"), { ...ann, lastSeen: 9 });
    assert.deepEqual(
      await store.listPeers(),
      new Map([["ann", { ...ann, lastSeen: 9 }], ["bob", bob]]),
    );
  }],
  ["putShares() without replace adds to what a user shared before", async (store) => {
    const [a, b, c] = [file("a.txt"), file("b.txt"), file("dir/c.bin")];
    await store.putShares("ann", [a, b], false);
    await store.putShares("ann", [c], false);
    assert.deepEqual(rows(await store.listHolders()), [
      row(a, "ann"),
      row(b, "ann"),
      row(c, "ann"),
    ]);
  }],
  ["putShares() with replace forgets files no longer listed", async (store) => {
    const [a, b, c] = [file("a.txt"), file("b.txt"), file("c.txt")];
    await store.putShares("ann", [a, b], false);
    await store.putShares("bob", [a], false);
    await store.putShares("ann", [b, c], true);
    assert.deepEqual(rows(await store.listHolders()), [
      row(a, "bob"),
      row(b, "ann"),
      row(c, "ann"),
    ]);
    await store.putShares("ann", [], true);
    assert.deepEqual(rows(await store.listHolders()), [row(a, "bob")]);
  }],
  ["putShares() moves a user to the new version of a file it shares", async (store) => {
    const v1 = file("a.txt", "v1", 2);
    const v2 = file("a.txt", "v2", 3);
    await store.putShares("ann", [v1], false);
    await store.putShares("bob", [v1], false);
    await store.putShares("ann", [v2], false);
    assert.deepEqual(
      rows(await store.listHolders("a.txt")),
      [row(v1, "bob"), row(v2, "ann")].sort(),
    );
    // Announcing the same version again changes nothing.
    await store.putShares("ann", [v2], true);
    assert.deepEqual(
      rows(await store.listHolders("a.txt")),
      [row(v1, "bob"), row(v2, "ann")].sort(),
    );
  }],
  ["listHolders() with a name lists only holders of exactly that name", async (store) => {
    const a1 = file("a.txt", "v1");
    const a2 = file("a.txt", "v2");
    const nested = file("a.txt/inner");
    const longer = file("a.txt.bak");
    await store.putShares("ann", [a1, nested, longer], false);
    await store.putShares("bob", [a2], false);
    assert.deepEqual(
      rows(await store.listHolders("a.txt")),
      [row(a1, "ann"), row(a2, "bob")].sort(),
    );
    assert.deepEqual(rows(await store.listHolders("a.txt/inner")), [row(nested, "ann")]);
    assert.deepEqual(await store.listHolders("missing"), []);
    assert.equal((await store.listHolders()).length, 4);
  }],
  ["getChunkHashes() returns a stored manifest's hashes in order", async (store) => {
    const small = file("small.txt", "v1", 3);
    await store.putShares("ann", [small], false);
    assert.deepEqual(await store.getChunkHashes(manifestId(small)), small.chunkHashes);
    assert.equal(
      await store.getChunkHashes(manifestId({ ...small, chunkSize: small.chunkSize * 2 })),
      null,
    );
    assert.equal(await store.getChunkHashes(sha("unknown")), null);
  }],
  [
    "getChunkHashes() round-trips a manifest of 3000 chunks that spans several parts",
    async (store) => {
      const big = file("big.iso", "v1", 3000, 4096);
      const empty = file("empty", "v1", 0, 4096);
      await store.putShares("ann", [big, empty], false);
      const hashes = await store.getChunkHashes(manifestId(big));
      assert.equal(hashes?.length, 3000);
      assert.deepEqual(hashes, big.chunkHashes);
      assert.deepEqual(await store.getChunkHashes(manifestId(empty)), []);
      // A second holder of the same content reuses the stored manifest.
      await store.putShares("bob", [big], false);
      assert.deepEqual(await store.getChunkHashes(manifestId(big)), big.chunkHashes);
    },
  ],
  [
    "putShares() keeps a manifest under its id: another under the same name and hash never replaces it",
    async (store) => {
      const real = file("a.txt", "v1", 3);
      const other = { ...real, chunkHashes: real.chunkHashes.map((_, i) => sha(`other ${i}`)) };
      await store.putShares("mallory", [other], false);
      await store.putShares("ann", [real], false);
      assert.deepEqual(await store.getChunkHashes(manifestId(real)), real.chunkHashes);
      assert.deepEqual(await store.getChunkHashes(manifestId(other)), other.chunkHashes);
      const ids = (await store.listHolders("a.txt")).map((h) => [h.user, h.id]).sort();
      assert.deepEqual(ids, [["ann", manifestId(real)], ["mallory", manifestId(other)]]);
    },
  ],
  ["countOutcome() counts one outcome per (downloader, source, version) a day", async (store) => {
    const outcome = { downloader: "bob", source: "ann", id: sha("v1"), kind: "downloads" } as const;
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => store.countOutcome(outcome, 1, now)),
    );
    assert.equal(results.filter((ok) => ok).length, 1);
    assert.equal(await store.countOutcome({ ...outcome, kind: "failures" }, 1, now + 1), false);
    assert.equal(await store.countOutcome({ ...outcome, id: sha("v2") }, 0.5, now), true);
    assert.deepEqual(await store.getStats("ann"), { downloads: 1.5, failures: 0 });
    assert.deepEqual(
      await store.getVersionDownloads([sha("v1"), sha("v2"), sha("v3")]),
      new Map([[sha("v1"), 1], [sha("v2"), 0.5], [sha("v3"), 0]]),
    );
    assert.equal(await store.countOutcome(outcome, 1, now + 24 * 3600_000), true);
  }],
  [
    "countOutcome() counts at most MAX_COUNTED_PER_PAIR outcomes of each kind per (downloader, source) a day, over all versions",
    async (store) => {
      const now = Date.now();
      const count = (i: number, kind: "downloads" | "failures", at = now, downloader = "bob") =>
        store.countOutcome({ downloader, source: "ann", id: sha(`v${i}`), kind }, 1, at);
      // Versions reported at once: exactly the cap counts, however they race.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => count(i, "downloads")),
      );
      assert.equal(results.filter((ok) => ok).length, MAX_COUNTED_PER_PAIR);
      // Failures have their own cap; another downloader its own pair.
      for (let i = 100; i < 110; i++) await count(i, "failures");
      assert.equal(await count(200, "downloads", now, "carol"), true);
      assert.deepEqual(await store.getStats("ann"), {
        downloads: MAX_COUNTED_PER_PAIR + 1,
        failures: MAX_COUNTED_PER_PAIR,
      });
      // A day after the first, the pair may count again.
      assert.equal(await count(300, "downloads", now + REPORT_WINDOW_MS - 1), false);
      assert.equal(await count(301, "downloads", now + REPORT_WINDOW_MS), true);
    },
  ],
  ["addStat() sums into the counts getStats() returns", async (store) => {
    assert.deepEqual(await store.getStats("ann"), { downloads: 0, failures: 0 });
    await store.addStat("ann", "downloads", 1);
    await store.addStat("ann", "downloads", 1);
    await Promise.all([store.addStat("ann", "downloads", 3), store.addStat("ann", "failures", 2)]);
    await store.addStat("bob", "failures", 1);
    assert.deepEqual(await store.getStats("ann"), { downloads: 5, failures: 2 });
    assert.deepEqual(await store.getStats("bob"), { downloads: 0, failures: 1 });
  }],
  [
    "ticketKeys() stores the first pair and returns it to every later and concurrent call",
    async (store) => {
      const pair = (n: number) => ({
        privateKey: new Uint8Array(48).fill(n),
        publicKey: new Uint8Array(32).fill(n),
        createdAt: n,
      });
      const results = await Promise.all([1, 2, 3, 4].map((n) => store.ticketKeys(pair(n))));
      const first = results[0]!;
      for (const result of results) assert.deepEqual(result, first);
      assert.deepEqual(await store.ticketKeys(pair(9)), first);
    },
  ],
];

for (const implementation of implementations) {
  for (const [name, body] of cases) {
    Deno.test(`${implementation.name}: ${name}`, async () => {
      await using fixture = await implementation.open();
      await body(fixture.store);
    });
  }
}

Deno.test("KvTrackerStore on a file keeps its data after closing and reopening", async () => {
  const implementation = implementations.find((i) => i.name.endsWith("file"))!;
  await using fixture = await implementation.open();
  const expiresAt = Date.now() + 3_600_000;
  const shared = file("kept.bin", "v1", 1500);
  const peer = { host: "h", port: 9, lastSeen: 1, online: true, session: "s" };
  await fixture.store.createUser("ann", user(7));
  await fixture.store.putSession("tok", { user: "ann", expiresAt }, Date.now());
  await fixture.store.putPeer("ann", peer);
  await fixture.store.putShares("ann", [shared], false);
  await fixture.store.addStat("ann", "downloads", 4);

  const store = await fixture.reopen!();
  assert.deepEqual(await store.getUser("ann"), { ...user(7), name: "ann", admin: true });
  assert.equal(await store.createUser("ann", user(8)), false);
  assert.deepEqual(await store.getSession("tok", expiresAt - 1), { user: "ann", expiresAt });
  assert.deepEqual(await store.getPeer("ann"), peer);
  assert.deepEqual(rows(await store.listHolders()), [row(shared, "ann")]);
  assert.deepEqual(await store.getChunkHashes(manifestId(shared)), shared.chunkHashes);
  assert.deepEqual(await store.getStats("ann"), { downloads: 4, failures: 0 });
});

Deno.test("putShares() counts a name listed twice once, so replacing with nothing removes it", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  await store.putShares("ann", [file("a.txt", "v1", 10), file("a.txt", "v2", 10)], true);
  assert.equal((await store.listHolders()).length, 1);
  await store.putShares("ann", [], true);
  assert.deepEqual(await store.listHolders(), []);
});

Deno.test("KvTrackerStore finds a user written under its own spelling before names were folded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-store-test-" });
  try {
    const path = join(dir, "tracker.kv");
    {
      using kv = await Deno.openKv(path);
      await kv.set(["user", "Bob"], user(5)); // the layout before names were folded
    }
    await using store = await KvTrackerStore.open(path);
    assert.deepEqual(await store.getUser("Bob"), { ...user(5), name: "Bob" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two trackers on one KV file sign tickets with one key pair, created once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-store-" });
  try {
    const path = join(dir, "tracker.kv");
    await using a = await KvTrackerStore.open(path);
    await using b = await KvTrackerStore.open(path);
    const [one, two] = await Promise.all([TicketIssuer.load(a), TicketIssuer.load(b)]);
    assert.equal(one.publicKey, two.publicKey);
    assert.equal((await TicketIssuer.load(b)).publicKey, one.publicKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("change entries are numbered per writer, each saying which of its writer's commits had finished", async () => {
  const { promise: held, resolve: release } = Promise.withResolvers<void>();
  await using store = await KvTrackerStore.open(":memory:", {
    beforeChangeCommit: async (change) => {
      if (change.peers?.includes("slow")) await held;
    },
  });
  const record = { host: "127.0.0.1", port: 1, lastSeen: 0, online: true, session: "s" };
  await store.putPeer("a", record);
  const slow = store.putPeer("slow", record); // number 1, held
  await store.putPeer("b", record); // number 2: number 1 had not finished
  const writers = await store.changeWriters();
  assert.deepEqual([...writers.keys()], [store.writer]);
  const seen = await store.readChanges(store.writer, 0, 10);
  assert.deepEqual(seen.map((c) => [c.seq, c.done]), [[0, 0], [2, 1]]);
  assert.deepEqual(await store.getChanges(store.writer, [1]), [null]);
  release();
  await slow;
  assert.equal((await store.getChanges(store.writer, [1]))[0]?.change.peers?.[0], "slow");
  await store.putPeer("c", record); // number 3: everything before had finished
  const last = await store.lastChange(store.writer);
  assert.deepEqual([last?.seq, last?.done], [3, 3]);
  assert.deepEqual((await store.readChanges(store.writer, 2, 10)).map((c) => c.seq), [2, 3]);
});

Deno.test("partial-holder updates are stored with a change entry carrying them, and a withdrawal deletes the record", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  const holder = { user: "x", host: "h", port: 1, progress: 0.5, updatedAt: 5 };
  await store.putPartialHolders([
    { name: "a", id: "ab", user: "x", holder, at: 5 },
    { name: "a", id: "ab", user: "y", holder: { ...holder, user: "y" }, at: 5 },
  ]);
  await store.putPartialHolders([{ name: "a", id: "ab", user: "y", holder: null, at: 6 }]);
  assert.deepEqual((await store.listPartialHolders()).map((u) => u.user), ["x"]);
  const logged = (await store.readChanges(store.writer, 0, 10)).flatMap((c) =>
    c.change.partial ?? []
  );
  assert.deepEqual(logged.map((u) => `${u.user}:${u.holder === null}`), [
    "x:false",
    "y:false",
    "y:true",
  ]);
});

Deno.test("a tracker is alive while it renews its mark, and a retired one at once is not", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  await store.addCounters("one", new Map([["list:ok", 2]]), 60_000);
  await store.addCounters("two", new Map(), 60_000);
  await store.addCounters("gone", new Map(), 1); // its mark says it stopped counting 1 ms later
  const deadline = Date.now() + 1_000;
  while (Date.now() < deadline && (await store.liveTrackers()).has("gone")) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual([...await store.liveTrackers()].sort(), ["one", "two"]);
  await store.retireTracker("two");
  assert.deepEqual([...await store.liveTrackers()], ["one"]);
  assert.equal((await store.readCounters()).get("one")?.get("list:ok"), 2);
});

Deno.test("transfers are numbered per writer and read from a number on", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  const transfer = (at: number) => ({
    at,
    user: "dl",
    name: "a.bin",
    sha256: "ab".repeat(32),
    source: "seed",
    ok: true,
    bytes: 1,
    reason: null,
    outcome: "ok",
  });
  await store.putTransfers("w1", 0, [transfer(1), transfer(2)]);
  await store.putTransfers("w1", 2, [transfer(3)]);
  await store.putTransfers("w2", 0, [transfer(4)]);
  assert.deepEqual((await store.transferWriters()).sort(), ["w1", "w2"]);
  assert.deepEqual((await store.listTransfers("w1", 1, 10)).map((t) => [t.n, t.transfer.at]), [
    [1, 2],
    [2, 3],
  ]);
});

Deno.test("KvTrackerStore offers every method of every role store, each acting on that role's data", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  const roles = [store.accounts, store.index, store.counts, store.throttles, store.tickets];
  const methods = roles.flatMap((role) =>
    Object.getOwnPropertyNames(Object.getPrototypeOf(role)).filter((n) => n !== "constructor")
  );
  assert.ok(methods.length >= 55);
  const flat = store as unknown as Record<string, unknown>;
  assert.deepEqual(methods.filter((name) => typeof flat[name] !== "function"), []);
  await store.addStat("ann", "downloads", 1);
  assert.deepEqual(await store.counts.getStats("ann"), await store.getStats("ann"));
});
