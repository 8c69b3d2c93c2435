import assert from "node:assert/strict";
import { EventLog, LATENCY_BUCKETS_S } from "../../lib/dashboard/mod.ts";
import type { TrackerEvent } from "../../lib/tracker/mod.ts";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

function report(at: number, ok: boolean, extra: Partial<TrackerEvent> = {}): TrackerEvent {
  return {
    type: "report",
    user: "cat",
    outcome: "ok",
    at,
    ms: 2,
    report: {
      name: "a.bin",
      sha256: "a".repeat(64),
      source: "ann",
      ok,
      bytes: 100,
      reason: ok ? null : "timeout",
    },
    ...extra,
  };
}

Deno.test("EventLog counts requests by type and outcome, and failed logins", () => {
  const log = new EventLog({ now: () => T0 });
  log.record({ type: "login", user: "ann", outcome: "ok", at: T0, ms: 50 });
  log.record({ type: "login", user: "ann", outcome: "AUTH_FAILED", at: T0, ms: 50 });
  log.record({ type: "list", user: "ann", outcome: "ok", at: T0, ms: 1 });
  const counters = log.counters();
  assert.deepEqual(
    [...counters.requests].map(([type, by]) => [type, Object.fromEntries(by)]),
    [["login", { ok: 1, AUTH_FAILED: 1 }], ["list", { ok: 1 }]],
  );
  assert.equal(counters.loginsFailed, 1);
});

Deno.test("EventLog puts each latency in the first bucket whose bound it does not exceed", () => {
  const log = new EventLog();
  log.record({ type: "list", user: null, outcome: "ok", at: T0, ms: 0.5 });
  log.record({ type: "list", user: null, outcome: "ok", at: T0, ms: 1 });
  log.record({ type: "list", user: null, outcome: "ok", at: T0, ms: 60_000 });
  const h = log.counters().latency.get("list")!;
  assert.equal(h.count, 3);
  assert.equal(h.buckets[0], 2, "0.5 ms and exactly 1 ms both fall in le=0.001");
  assert.equal(h.buckets.reduce((a, b) => a + b, 0), 2, "60 s only counts in +Inf");
  assert.equal(h.buckets.length, LATENCY_BUCKETS_S.length);
  assert.ok(Math.abs(h.sum - 60.0015) < 1e-9);
});

Deno.test("EventLog keeps accepted transfers newest first and leaves refused reports out", () => {
  const log = new EventLog({ now: () => T0 });
  log.record(report(T0 - 2000, true));
  log.record(report(T0 - 1000, false));
  log.record(report(T0, true, { outcome: "NOT_FOUND" }));
  const transfers = log.transfers();
  assert.deepEqual(transfers.map((t) => [t.at, t.ok, t.reason]), [
    [T0 - 1000, false, "timeout"],
    [T0 - 2000, true, null],
  ]);
  const c = log.counters();
  assert.equal(c.transfersOk, 1);
  assert.deepEqual(Object.fromEntries(c.transfersFailed), { timeout: 1 });
  assert.equal(c.bytesReported, 200);
});

Deno.test("EventLog adds nothing for a report the tracker did not count (a repeat within a day)", () => {
  const log = new EventLog({ now: () => T0 });
  log.record(report(T0 - 1000, true));
  for (let i = 0; i < 100; i++) log.record(report(T0, true, { outcome: "not_counted" }));
  const c = log.counters();
  assert.equal(c.transfersOk, 1);
  assert.equal(c.bytesReported, 100);
  assert.equal(log.transfers().length, 1);
});

Deno.test("EventLog forgets the oldest transfers beyond its capacity", () => {
  const log = new EventLog({ capacity: 3, now: () => T0 });
  for (let i = 0; i < 5; i++) log.record(report(T0 + i, true));
  assert.deepEqual(log.transfers().map((t) => t.at), [T0 + 4, T0 + 3, T0 + 2]);
  assert.equal(log.counters().transfersOk, 5, "counters keep counting");
});

Deno.test("EventLog.transfers() filters by file name, time and limit", () => {
  const log = new EventLog({ now: () => T0 });
  log.record(report(T0 - 5000, true));
  log.record({ ...report(T0 - 1000, true), report: { ...report(0, true).report!, name: "b" } });
  log.record(report(T0, true));
  assert.equal(log.transfers({ name: "a.bin" }).length, 2);
  assert.equal(log.transfers({ since: T0 - 1000 }).length, 2);
  assert.equal(log.transfers({ limit: 1 })[0]!.at, T0);
});

Deno.test("EventLog.perMinute() buckets the last hour's transfers by minute, oldest first", () => {
  const now = T0 + 30_000; // half a minute into 12:00
  const log = new EventLog({ now: () => now });
  log.record(report(now - 60 * 60_000, true)); // too old: 11:00:30 is before 11:01
  log.record(report(T0 - 60_000, true)); // 11:59
  log.record(report(T0 + 1_000, true)); // 12:00
  log.record(report(T0 + 2_000, false)); // 12:00
  const buckets = log.perMinute(60);
  assert.equal(buckets.length, 60);
  assert.equal(buckets[59]!.start, T0);
  assert.deepEqual(
    [buckets[58]!.ok, buckets[59]!.ok, buckets[59]!.failed],
    [1, 1, 1],
  );
  assert.equal(buckets.reduce((n, b) => n + b.ok + b.failed, 0), 3);
});

Deno.test("EventLog tells every subscriber about every event until it unsubscribes", () => {
  const log = new EventLog();
  const seen: string[] = [];
  const stop = log.subscribe((event) => seen.push(event.type));
  log.subscribe(() => {
    throw new Error("a broken listener");
  });
  log.record({ type: "register", user: "ann", outcome: "ok", at: T0, ms: 1 });
  stop();
  log.record({ type: "login", user: "ann", outcome: "ok", at: T0, ms: 1 });
  assert.deepEqual(seen, ["register"]);
});
