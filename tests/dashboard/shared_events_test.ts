import assert from "node:assert/strict";
import { join } from "node:path";
import { EventLog, renderMetrics, SharedEvents } from "../../lib/dashboard/mod.ts";
import { KvTrackerStore, type TrackerEvent } from "../../lib/tracker/mod.ts";
import { readStats } from "../../lib/dashboard/mod.ts";

function report(at: number, ok: boolean, reason?: string): TrackerEvent {
  return {
    type: "report",
    user: "dl",
    outcome: "ok",
    at,
    ms: 3,
    report: {
      name: "a.bin",
      sha256: "ab".repeat(32),
      source: "seed",
      ok,
      bytes: 100,
      reason: reason ?? null,
    },
  };
}

Deno.test("a transfer taken by one tracker is listed by another on the same KV, and both sum the same counters", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-shared-" });
  try {
    const path = join(dir, "tracker.kv");
    await using storeA = await KvTrackerStore.open(path);
    await using storeB = await KvTrackerStore.open(path);
    const logA = new EventLog();
    const logB = new EventLog();
    const a = new SharedEvents(logA, storeA, "a");
    const b = new SharedEvents(logB, storeB, "b");
    const now = Date.now();
    a.record(report(now, true));
    b.record(report(now + 1, false, "timeout"));
    a.record({ type: "login", user: "eve", outcome: "AUTH_FAILED", at: now, ms: 40 });
    await a.sync();
    await b.sync();
    await a.sync();
    const listed = (log: EventLog) => log.transfers().map((t) => `${t.at - now}:${t.ok}`);
    assert.deepEqual(listed(logA), ["1:false", "0:true"]);
    assert.deepEqual(listed(logB), listed(logA));
    const [countersA, countersB] = [await a.counters(), await b.counters()];
    assert.deepEqual(countersA, countersB);
    assert.equal(countersA.transfersOk, 1);
    assert.deepEqual([...countersA.transfersFailed], [["timeout", 1]]);
    assert.equal(countersA.loginsFailed, 1);
    assert.equal(countersA.bytesReported, 200);
    assert.equal(countersA.latency.get("report")?.count, 2);
    // Reading again adds nothing twice.
    await b.sync();
    assert.equal(logB.transfers().length, 2);
    const metrics = (log: EventLog, shared: SharedEvents, store: KvTrackerStore) =>
      Promise.all([readStats({ store, heartbeatMs: 1000, events: log }), shared.counters()])
        .then(([stats, counters]) =>
          renderMetrics(stats, counters).replace(/^p2pfs_start.*$/m, "")
        );
    assert.equal(await metrics(logA, a, storeA), await metrics(logB, b, storeB));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a tracker started later reads the transfers of the last hour from the store", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  const early = new SharedEvents(new EventLog(), store, "early");
  early.record(report(Date.now() - 10 * 60_000, true));
  await early.sync();
  const log = new EventLog();
  await new SharedEvents(log, store, "late").sync();
  assert.equal(log.transfers().length, 1);
});
