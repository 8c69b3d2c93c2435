import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  detailsReply,
  type FileManifest,
  manifestId,
  okReply,
  sessionReply,
} from "../../lib/protocol/mod.ts";
import {
  KvTrackerStore,
  PARTIAL_HOLDER_TTL_MS,
  PartialHolders,
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

async function setup() {
  const store = await KvTrackerStore.open(":memory:");
  const clock = { now: Date.now() };
  const service = new TrackerService(store, { heartbeatMs: 1_000, now: () => clock.now });
  const signUp = async (username: string) => {
    okReply(await service.handle({ type: "register", username, password: "password1" }), "");
    const reply = await service.handle({ type: "login", username, password: "password1" });
    return sessionReply(reply, "login").token;
  };
  return { store, service, clock, signUp };
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
