import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  detailsReply,
  type FileManifest,
  manifestId,
  MAX_PARTIAL_HOLDERS,
  MAX_PROGRESS_VERSIONS_PER_MEMBER,
  okReply,
  sessionReply,
} from "../../lib/protocol/mod.ts";
import {
  KvTrackerStore,
  PARTIAL_HOLDER_TTL_MS,
  PartialHolders,
  PROGRESS_GRANT_TTL_MS,
  TrackerError,
  TrackerService,
} from "../../lib/tracker/mod.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const manifest: FileManifest = {
  name: "big.bin",
  size: 3 * 65536,
  chunkSize: 65536,
  sha256: sha("whole"),
  chunkHashes: [sha("0"), sha("1"), sha("2")],
};
const id = manifestId(manifest);

async function setup(path = ":memory:") {
  const store = await KvTrackerStore.open(path);
  const clock = { now: Date.now() };
  const service = new TrackerService(store, {
    heartbeatMs: 1_000,
    now: () => clock.now,
    sessionTtlMs: 24 * 3600_000,
  });
  const signUp = async (username: string) => {
    okReply(await service.handle({ type: "register", username, password: "password1" }), "");
    const reply = await service.handle({ type: "login", username, password: "password1" });
    return sessionReply(reply, "login").token;
  };
  const details = async (token: string, name = "big.bin") =>
    detailsReply(await service.handle({ type: "details", token, name }), "details");
  return { store, service, clock, signUp, details };
}

function refused(code: string, pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TrackerError, `expected TrackerError, got ${error}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

/** A progress request of `token` on version `version` of big.bin. */
function progressOf(token: string, version = id) {
  return {
    type: "progress",
    token,
    name: "big.bin",
    id: version,
    host: "127.0.0.1",
    port: 7072,
    progress: 0.5,
  } as const;
}

Deno.test("a downloader that sends progress is listed among the holders with complete false and its progress", async () => {
  const t = await setup();
  await using _store = t.store;
  const seed = await t.signUp("seed");
  const dl = await t.signUp("dl");
  const other = await t.signUp("other");
  const announce = { type: "announce", token: seed, host: "127.0.0.1", port: 7071 } as const;
  okReply(await t.service.handle({ ...announce, replace: true, files: [manifest] }), "");
  const progress = {
    type: "progress",
    token: dl,
    name: "big.bin",
    id,
    host: "h",
    port: 7072,
  } as const;
  await t.details(dl);
  okReply(await t.service.handle({ ...progress, progress: 0.5 }), "progress");
  const details = detailsReply(
    await t.service.handle({ type: "details", token: other, name: "big.bin" }),
    "details",
  );
  assert.deepEqual(
    details.peers.map((p) => [p.user, p.complete, p.progress, p.port]),
    [["seed", true, 1, 7071], ["dl", false, 0.5, 7072]],
  );
  // A report on the partial source it was handed counts like any other.
  okReply(
    await t.service.handle({
      type: "report",
      token: other,
      name: "big.bin",
      sha256: manifest.sha256,
      id,
      source: "dl",
      ok: false,
      bytes: 0,
      reason: "corrupt",
    }),
    "report",
  );
  // Withdrawn, it is gone.
  okReply(await t.service.handle({ ...progress, progress: 0.5, withdraw: true }), "progress");
  const after = detailsReply(
    await t.service.handle({ type: "details", token: other, name: "big.bin" }),
    "details",
  );
  assert.deepEqual(after.peers.map((p) => p.user), ["seed"]);
});

Deno.test("PartialHolders drops a holder silent for PARTIAL_HOLDER_TTL_MS and lists one that holds everything as complete", () => {
  let now = 0;
  const partial = new PartialHolders(() => now);
  partial.update("a", id, { user: "x", host: "h", port: 1, progress: 0.2 });
  partial.update("a", id, { user: "y", host: "h", port: 2, progress: 1 });
  assert.deepEqual(partial.list("a", id).map((h) => h.user), ["x", "y"]);
  // A seed of the version is not listed twice.
  assert.deepEqual(partial.list("a", id, [{ user: "y" }]).map((h) => h.user), ["x"]);
  now = PARTIAL_HOLDER_TTL_MS + 1;
  assert.deepEqual(partial.list("a", id), []);
});

Deno.test("PartialHolders keeps at most one update a second per holder unless it moved", () => {
  let now = 0;
  const partial = new PartialHolders(() => now);
  partial.update("a", id, { user: "x", host: "h", port: 1, progress: 0.2 });
  now = 10;
  partial.update("a", id, { user: "x", host: "h", port: 1, progress: 0.3 });
  assert.equal(partial.list("a", id)[0]?.progress, 0.2);
  partial.update("a", id, { user: "x", host: "h", port: 9, progress: 0.3 });
  assert.equal(partial.list("a", id)[0]?.port, 9);
});

Deno.test("progress on a version nobody shares is refused with NOT_FOUND and lists nothing", async () => {
  const t = await setup();
  await using _store = t.store;
  const seed = await t.signUp("seed");
  const fake = await t.signUp("fake");
  const announce = { type: "announce", token: seed, host: "127.0.0.1", port: 7071 } as const;
  okReply(await t.service.handle({ ...announce, replace: true, files: [manifest] }), "");
  const madeUp = sha("made up");
  await assert.rejects(
    t.service.handle(progressOf(fake, madeUp)),
    refused("NOT_FOUND", /^Cannot record progress: big\.bin has no version/),
  );
  assert.equal(t.service.files.partial.size, 0);
  // A withdrawal is always accepted, and stores nothing.
  okReply(await t.service.handle({ ...progressOf(fake, madeUp), withdraw: true }), "withdraw");
  assert.equal(t.service.files.partial.size, 0);
  assert.deepEqual((await t.details(seed)).peers.map((p) => p.user), ["seed"]);
});

Deno.test("progress is refused with FORBIDDEN until the member asked details of that version, then listed", async () => {
  const t = await setup();
  await using _store = t.store;
  const seed = await t.signUp("seed");
  const dl = await t.signUp("dl");
  const announce = { type: "announce", token: seed, host: "127.0.0.1", port: 7071 } as const;
  okReply(await t.service.handle({ ...announce, replace: true, files: [manifest] }), "");
  await assert.rejects(
    t.service.handle(progressOf(dl)),
    refused("FORBIDDEN", /was not handed to you in a recent details$/),
  );
  assert.deepEqual((await t.details(seed)).peers.map((p) => p.user), ["seed"]);
  await t.details(dl);
  okReply(await t.service.handle(progressOf(dl)), "progress");
  assert.deepEqual((await t.details(seed)).peers.map((p) => p.user), ["seed", "dl"]);
  // Another account's details grants nothing to dl's neighbour.
  const other = await t.signUp("other");
  await assert.rejects(t.service.handle(progressOf(other)), refused("FORBIDDEN", /details$/));
});

Deno.test("a progress grant lasts PROGRESS_GRANT_TTL_MS after details, and each accepted progress renews it", async () => {
  const t = await setup();
  await using _store = t.store;
  const seed = await t.signUp("seed");
  const dl = await t.signUp("dl");
  const idle = await t.signUp("idle");
  const announce = { type: "announce", token: seed, host: "127.0.0.1", port: 7071 } as const;
  okReply(await t.service.handle({ ...announce, replace: true, files: [manifest] }), "");
  await t.details(dl);
  await t.details(idle);
  // dl keeps sending progress (a long download, then seeding); idle sends none until too late.
  for (let step = 0; step < 3; step++) {
    t.clock.now += PROGRESS_GRANT_TTL_MS * 0.6;
    okReply(await t.service.handle(progressOf(dl)), "progress");
  }
  await assert.rejects(t.service.handle(progressOf(idle)), refused("FORBIDDEN", /details$/));
});

Deno.test("a progress grant written by one tracker is honoured by another on the same KV", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-progress-" });
  try {
    const path = join(dir, "tracker.kv");
    const a = await setup(path);
    await using _a = a.store;
    const seed = await a.signUp("seed");
    const dl = await a.signUp("dl");
    const announce = { type: "announce", token: seed, host: "127.0.0.1", port: 7071 } as const;
    okReply(await a.service.handle({ ...announce, replace: true, files: [manifest] }), "");
    await using b = await KvTrackerStore.open(path);
    const other = new TrackerService(b, { heartbeatMs: 1_000 });
    await assert.rejects(other.handle(progressOf(dl)), refused("FORBIDDEN", /details$/));
    await a.details(dl);
    // The first tracker accepts at once, before its batch reaches KV; the second once it has.
    okReply(await a.service.handle(progressOf(dl)), "progress");
    await a.service.files.progressGrants.flush();
    okReply(await other.handle(progressOf(dl)), "progress");
    assert.deepEqual(other.files.partial.list("big.bin", id).map((h) => h.user), ["dl"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stalled partial holder is marked stalled in details", async () => {
  const t = await setup();
  await using _store = t.store;
  const seed = await t.signUp("seed");
  const dl = await t.signUp("dl");
  const announce = { type: "announce", token: seed, host: "127.0.0.1", port: 7071 } as const;
  okReply(await t.service.handle({ ...announce, replace: true, files: [manifest] }), "");
  await t.details(dl);
  okReply(await t.service.handle({ ...progressOf(dl), stalled: true }), "progress");
  const listed = (await t.details(seed)).peers.map((p) => [p.user, p.stalled]);
  assert.deepEqual(listed, [["seed", undefined], ["dl", true]]);
  // It says so no more: the next update (even within a second) clears the mark.
  okReply(await t.service.handle(progressOf(dl)), "progress");
  assert.deepEqual((await t.details(seed)).peers.map((p) => p.stalled), [undefined, undefined]);
});

Deno.test("PartialHolders refuses a member's version beyond MAX_PROGRESS_VERSIONS_PER_MEMBER with FORBIDDEN, until one goes silent", () => {
  let now = 0;
  const partial = new PartialHolders(() => now);
  const version = (i: number) => sha(`v${i}`);
  for (let i = 0; i < MAX_PROGRESS_VERSIONS_PER_MEMBER; i++) {
    partial.update("a", version(i), { user: "x", host: "h", port: 1, progress: 0.1 });
  }
  assert.throws(
    () => partial.update("a", version(999), { user: "x", host: "h", port: 1, progress: 0.1 }),
    refused("FORBIDDEN", /^Cannot record progress: you are a partial holder of 32 versions/),
  );
  // An update of a version it holds is no new entry; another member is not held back.
  partial.update("a", version(0), { user: "x", host: "h", port: 1, progress: 0.2 });
  partial.update("a", version(999), { user: "y", host: "h", port: 1, progress: 0.1 });
  // Once its entries went silent, they no longer count.
  now = PARTIAL_HOLDER_TTL_MS + 1;
  partial.update("a", version(999), { user: "x", host: "h", port: 1, progress: 0.1 });
  assert.deepEqual(partial.list("a", version(999)).map((h) => h.user), ["x"]);
});

Deno.test("PartialHolders refuses a new entry beyond MAX_PARTIAL_HOLDERS with BUSY, and sweep() frees silent ones of every version", () => {
  let now = 0;
  const partial = new PartialHolders(() => now);
  const perUser = MAX_PROGRESS_VERSIONS_PER_MEMBER;
  for (let n = 0; n < MAX_PARTIAL_HOLDERS; n++) {
    const user = `u${Math.floor(n / perUser)}`;
    partial.update("a", sha(`v${n}`), { user, host: "h", port: 1, progress: 0.1 });
  }
  assert.equal(partial.size, MAX_PARTIAL_HOLDERS);
  assert.throws(
    () => partial.update("a", sha("v0"), { user: "late", host: "h", port: 1, progress: 0.1 }),
    refused("BUSY", /^Cannot record progress: the tracker keeps 20000 partial holders/),
  );
  // Silent ones go in one sweep, whichever version they hold, without anyone listing them.
  now = PARTIAL_HOLDER_TTL_MS + 1;
  assert.equal(partial.sweep(), MAX_PARTIAL_HOLDERS);
  assert.equal(partial.size, 0);
  partial.update("a", sha("v0"), { user: "late", host: "h", port: 1, progress: 0.1 });
  assert.equal(partial.size, 1);
  partial.forget("late");
  assert.equal(partial.size, 0);
});

Deno.test("a partial holder told to one tracker is listed by another on the same KV, and its withdrawal and stalled mark too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-progress-" });
  try {
    const path = join(dir, "tracker.kv");
    const a = await setup(path);
    await using _a = a.store;
    const seed = await a.signUp("seed");
    const dl = await a.signUp("dl");
    const announce = { type: "announce", token: seed, host: "127.0.0.1", port: 7071 } as const;
    okReply(await a.service.handle({ ...announce, replace: true, files: [manifest] }), "");
    await using b = await KvTrackerStore.open(path);
    const other = new TrackerService(b, { heartbeatMs: 1_000, now: () => a.clock.now });
    // The other tracker reads the log at most every 200 ms when not started: poll, with a deadline.
    const listedByOther = async (expected: string[]) => {
      const deadline = Date.now() + 5_000;
      let listed: string[] = [];
      while (Date.now() < deadline) {
        const reply = await other.handle({ type: "details", token: seed, name: "big.bin" });
        listed = detailsReply(reply, "").peers
          .map((p) => `${p.user}:${p.complete}:${p.stalled ?? false}`);
        if (JSON.stringify(listed) === JSON.stringify(expected)) return listed;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return listed;
    };
    assert.deepEqual(await listedByOther(["seed:true:false"]), ["seed:true:false"]);
    await a.details(dl);
    okReply(await a.service.handle({ ...progressOf(dl), stalled: true }), "progress");
    await a.service.files.partial.flush();
    const both = ["seed:true:false", "dl:false:true"];
    assert.deepEqual(await listedByOther(both), both);
    okReply(await a.service.handle({ ...progressOf(dl), withdraw: true }), "progress");
    await a.service.files.partial.flush();
    assert.deepEqual(await listedByOther(["seed:true:false"]), ["seed:true:false"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the per-member cap counts the partial holders another tracker accepted, loaded from KV", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-progress-" });
  try {
    const path = join(dir, "tracker.kv");
    await using storeA = await KvTrackerStore.open(path);
    await using storeB = await KvTrackerStore.open(path);
    const now = Date.now();
    const first = new PartialHolders(() => now, storeA);
    for (let i = 0; i < MAX_PROGRESS_VERSIONS_PER_MEMBER; i++) {
      first.update("a", sha(`v${i}`), { user: "x", host: "h", port: 1, progress: 0.1 });
    }
    await first.flush();
    const second = new PartialHolders(() => now, storeB);
    second.apply(await storeB.listPartialHolders());
    assert.equal(second.size, MAX_PROGRESS_VERSIONS_PER_MEMBER);
    assert.throws(
      () => second.update("a", sha("one more"), { user: "x", host: "h", port: 1, progress: 0.1 }),
      refused("FORBIDDEN", /32 versions already/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartialHolders.apply() keeps the newest of an update and a withdrawal whatever order they arrive in", () => {
  const now = 10_000;
  const partial = new PartialHolders(() => now);
  const holder = { user: "x", host: "h", port: 1, progress: 0.5, updatedAt: now - 10 };
  const update = { name: "a", id: "ab", user: "x", holder, at: now - 10 };
  const gone = { name: "a", id: "ab", user: "x", holder: null, at: now - 5 };
  partial.apply([gone]);
  partial.apply([update]); // older than the withdrawal: ignored
  assert.deepEqual(partial.list("a", "ab"), []);
  const later = { ...update, holder: { ...holder, updatedAt: now }, at: now };
  partial.apply([later]);
  partial.apply([gone]); // older than the update: ignored
  assert.deepEqual(partial.list("a", "ab").map((h) => h.updatedAt), [now]);
  const old = now - PARTIAL_HOLDER_TTL_MS - 1;
  const expired = {
    ...update,
    user: "y",
    holder: { ...holder, user: "y", updatedAt: old },
    at: old,
  };
  partial.apply([expired]);
  assert.equal(partial.size, 1);
});
