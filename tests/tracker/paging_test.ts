import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  detailsReply,
  encodeMessage,
  type FileManifest,
  filesReply,
  holdersReply,
  MAX_FRAME_BYTES,
  sessionReply,
} from "../../lib/protocol/mod.ts";
import { KvTrackerStore, startAfter, takePage, TrackerService } from "../../lib/tracker/mod.ts";

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function manifest(name: string, chunks = 1): FileManifest {
  const chunkSize = 65536;
  return {
    name,
    size: chunks * chunkSize,
    chunkSize,
    sha256: sha(`${name} whole`),
    chunkHashes: Array.from({ length: chunks }, (_, i) => sha(`${name} ${i}`)),
  };
}

/** A service over a fresh store, with one logged-in user; holders are written to the store. */
async function setup() {
  const store = await KvTrackerStore.open(":memory:");
  const service = new TrackerService(store);
  await service.handle({ type: "register", username: "reader", password: "password1" });
  const login = await service.handle({ type: "login", username: "reader", password: "password1" });
  const token = sessionReply(login, "login").token;
  const share = async (user: string, files: FileManifest[]) => {
    const now = Date.now();
    await store.putPeer(user, {
      host: "127.0.0.1",
      port: 7000,
      lastSeen: now,
      online: true,
      session: "s",
    });
    await store.putShares(user, files, false, now);
  };
  return {
    store,
    service,
    token,
    share,
    [Symbol.asyncDispose]: () => store[Symbol.asyncDispose](),
  };
}

/** Encodes a reply as the tracker would send it; throws if the frame would be over the limit. */
function frameBytes(reply: Record<string, unknown>): number {
  const frame = encodeMessage(reply as { type: string });
  assert.ok(frame.length <= MAX_FRAME_BYTES + 4, `frame of ${frame.length} bytes`);
  return frame.length;
}

Deno.test("takePage() stops before the entry that would cross the byte or entry limit", () => {
  assert.deepEqual(takePage(["aa", "bb", "cc"].values(), { maxBytes: 10 }), {
    entries: ["aa", "bb"],
    more: true,
  });
  assert.deepEqual(takePage(["aa"].values(), { maxBytes: 1 }), { entries: ["aa"], more: false });
  assert.deepEqual(takePage([].values(), {}), { entries: [], more: false });
  assert.deepEqual(takePage([1, 2, 3].values(), { maxEntries: 3 }), {
    entries: [1, 2, 3],
    more: false,
  });
});

Deno.test("startAfter() finds where a page after a key begins in a sorted list", () => {
  const sorted = ["a", "c", "c", "e"];
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  assert.equal(startAfter(sorted, "", cmp), 0);
  assert.equal(startAfter(sorted, "c", cmp), 3);
  assert.equal(startAfter(sorted, "d", cmp), 3);
  assert.equal(startAfter(sorted, "z", cmp), 4);
});

Deno.test("list pages stay within the frame limit for any index and together list every version once", async () => {
  // Long names of multi-byte characters make each entry as large as a name can make it.
  const name = fc.array(fc.constantFrom("a", "é", "文", "/", "x", "-"), {
    minLength: 1,
    maxLength: 1024,
  }).map((chars) => chars.join("").replace(/\/+/g, "/").replace(/^\/|\/$/g, "") || "n");
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(name, { minLength: 0, maxLength: 1500, selector: (n) => n }),
      fc.integer({ min: 1, max: 5000 }),
      async (names, limit) => {
        await using t = await setup();
        const files = names.filter((n) =>
          n.split("/").every((p) => p !== "" && p !== "." && p !== "..")
        )
          .map((n) => manifest(n));
        await t.share("ann", files);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const reply = await t.service.handle({
            type: "list",
            token: t.token,
            all: true,
            limit,
            ...(cursor !== undefined ? { cursor } : {}),
          });
          frameBytes(reply);
          const page = filesReply(reply, "list");
          assert.ok(page.files.length <= limit);
          seen.push(...page.files.map((f) => `${f.name}|${f.id}`));
          cursor = page.next;
          assert.ok(++pages <= files.length + 1, "pages must end");
        } while (cursor !== undefined);
        assert.equal(seen.length, files.length);
        assert.equal(new Set(seen).size, files.length);
      },
    ),
    { numRuns: 6 },
  );
});

Deno.test("details of a file with 4,000 holders and 8,192 chunks pages its holders within the frame limit", async () => {
  await using t = await setup();
  const big = manifest("big.iso", 8192);
  const users = Array.from({ length: 4000 }, (_, i) => `holder${String(i).padStart(5, "0")}`);
  // Written straight to the store, many users per commit, to keep the test quick.
  const now = Date.now();
  for (let i = 0; i < users.length; i += 500) {
    await Promise.all(
      users.slice(i, i + 500).map(async (user) => {
        await t.store.putPeer(user, {
          host: "127.0.0.1",
          port: 7000,
          lastSeen: now,
          online: true,
          session: "s",
        });
        await t.store.putShares(user, [big], false, now);
      }),
    );
  }
  const first = await t.service.handle({ type: "details", token: t.token, name: "big.iso" });
  frameBytes(first);
  const details = detailsReply(first, "details");
  assert.equal(details.chunkHashes.length, 8192);
  assert.ok(details.next, "more holders than fit one reply");
  const holders = details.peers.map((p) => p.user);
  let cursor: string | undefined = details.next;
  while (cursor !== undefined) {
    const reply = await t.service.handle({
      type: "holders",
      token: t.token,
      name: "big.iso",
      id: details.id,
      cursor,
    });
    frameBytes(reply);
    const page = holdersReply(reply, "holders");
    holders.push(...page.peers.map((p) => p.user));
    cursor = page.next;
  }
  assert.deepEqual(holders, users);
});
