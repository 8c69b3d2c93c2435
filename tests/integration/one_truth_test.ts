/**
 * One truth across tracker workers and trackers: two trackers on one KV file, the first with
 * `--workers 2`. What one is told (a partial holder, a transfer) the other lists, on the protocol,
 * its pages and `/metrics`; a tracker that stops leaves the Trackers table. The tests wait for
 * the other tracker to show what it was told (a generous bound only keeps a hang from blocking the
 * suite): how soon it does depends on the machine's load, so it is not asserted here. (A commit
 * held back longer than any window needs a fault injected into a store, so it is shown in process,
 * on two stores and two services over one KV file: `tests/tracker/index_follower_test.ts` and
 * `tests/tracker/service_test.ts`.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { FileManifest } from "../../lib/protocol/mod.ts";
import { loggedIn, makeTempDir, pollUntil, registerUsers, startTracker } from "./_harness.ts";

/** Longest the tests wait for the other tracker to show a partial holder or a transfer. */
const SEEN_WITHIN_MS = 20_000;

const manifest: FileManifest = {
  name: "big.bin",
  size: 3 * 65536,
  chunkSize: 65536,
  sha256: "ab".repeat(32),
  chunkHashes: ["01".repeat(32), "02".repeat(32), "03".repeat(32)],
};

Deno.test("two trackers on one KV, one with --workers 2: a partial holder and a transfer told to one are on the other's details, pages and /metrics", async () => {
  await using kv = await makeTempDir("p2pfs-it-truth-");
  const kvPath = join(kv.path, "tracker.kv");
  await using one = await startTracker({ kvPath, args: ["--workers", "2"] });
  await using two = await startTracker({ kvPath });
  await registerUsers(one.address, ["seed", "dl"]);
  await using seedOnOne = await loggedIn(one.address, "seed");
  await seedOnOne.client.announce(seedOnOne.token, { host: "127.0.0.1", port: 9 }, [manifest]);
  await using dlOnOne = await loggedIn(one.address, "dl");
  const details = await pollUntil("the announce in details", async () => {
    try {
      return await dlOnOne.client.details(dlOnOne.token, "big.bin");
    } catch {
      return undefined;
    }
  });
  // Heartbeats and progress keep going to the first tracker (either of its workers).
  await seedOnOne.client.heartbeat(seedOnOne.token);
  await dlOnOne.client.progress(dlOnOne.token, {
    name: "big.bin",
    id: details.id,
    host: "127.0.0.1",
    port: 10,
    progress: 0.5,
  });

  await using seedOnTwo = await loggedIn(two.address, "seed");
  const partial = await pollUntil("the partial holder on the other tracker", async () => {
    const found = await seedOnTwo.client.details(seedOnTwo.token, "big.bin");
    return found.peers.find((p) => p.user === "dl" && p.complete === false);
  }, { timeoutMs: SEEN_WITHIN_MS, intervalMs: 50 });
  assert.equal(partial.progress, 0.5);
  assert.equal(partial.port, 10);

  await dlOnOne.client.report(dlOnOne.token, {
    name: "big.bin",
    sha256: manifest.sha256,
    id: details.id,
    source: "seed",
    ok: true,
    bytes: manifest.size,
  });
  const api = (tracker: { dashboardUrl: string }, path: string) =>
    fetch(new URL(path, tracker.dashboardUrl));
  for (const tracker of [two, one]) {
    await pollUntil("the transfer on the pages and /metrics of each tracker", async () => {
      const transfers = await (await api(tracker, "/api/transfers")).json() as {
        source: string;
        name: string;
      }[];
      const metrics = await (await api(tracker, "/metrics")).text();
      const listed = transfers.some((t) => t.source === "seed" && t.name === "big.bin");
      return listed && /^p2pfs_transfers_total\{outcome="ok"\} 1$/m.test(metrics)
        ? true
        : undefined;
    }, { timeoutMs: SEEN_WITHIN_MS, intervalMs: 50 });
  }
  const stats = await (await api(two, "/api/stats")).json() as { transfersLastHour: number };
  assert.equal(stats.transfersLastHour, 1);

  // Withdrawn on the first, gone from the second.
  await dlOnOne.client.progress(dlOnOne.token, {
    name: "big.bin",
    id: details.id,
    host: "127.0.0.1",
    port: 10,
    progress: 0.5,
    withdraw: true,
  });
  await pollUntil("the withdrawal on the other tracker", async () => {
    const found = await seedOnTwo.client.details(seedOnTwo.token, "big.bin");
    return found.peers.some((p) => p.user === "dl") ? undefined : true;
  }, { timeoutMs: SEEN_WITHIN_MS, intervalMs: 50 });
});

Deno.test("a tracker killed with SIGKILL leaves the other's Trackers table and the cluster's sums", async () => {
  await using kv = await makeTempDir("p2pfs-it-truth-");
  const kvPath = join(kv.path, "tracker.kv");
  await using one = await startTracker({ kvPath });
  const two = await startTracker({ kvPath });
  try {
    const trackers = async () => {
      const response = await fetch(new URL("/api/stats", one.dashboardUrl));
      const stats = await response.json() as { trackers: { id: string }[] };
      return stats.trackers.map((t) => t.id);
    };
    const ofTwo = (ids: string[]) => ids.some((id) => id.startsWith(`${two.address}`));
    await pollUntil("the second tracker in the table", async () => {
      const ids = await trackers();
      return ofTwo(ids) && ids.length === 2 ? true : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    await two.kill9();
    // TRACKER_SILENT_MS (5 s) after its last flush, and no sooner than that.
    await pollUntil("the killed tracker gone from the table", async () => {
      const ids = await trackers();
      return !ofTwo(ids) && ids.length === 1 ? true : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    const page = await (await fetch(new URL("/", one.dashboardUrl))).text();
    assert.doesNotMatch(page, new RegExp(two.address.replace(/\./g, "\\.")));
  } finally {
    await two[Symbol.asyncDispose]();
  }
});
