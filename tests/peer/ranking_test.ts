import assert from "node:assert/strict";
import {
  type Candidate,
  candidateOf,
  PeerError,
  rankHolders,
  rankSources,
  sourceScore,
} from "../../lib/peer/mod.ts";
import type { HolderInfo } from "../../lib/protocol/mod.ts";

const peer = (user: string, rttMs: number | null, downloads = 0, failures = 0): Candidate => ({
  user,
  host: "127.0.0.1",
  port: 1,
  rttMs,
  downloads,
  failures,
});

Deno.test("sourceScore() is RTT × 0.75^downloads × 1.25^failures", () => {
  assert.equal(sourceScore({ rttMs: 8, downloads: 0, failures: 0 }), 8);
  assert.equal(sourceScore({ rttMs: 8, downloads: 2, failures: 0 }), 8 * 0.75 ** 2);
  assert.equal(sourceScore({ rttMs: 8, downloads: 1, failures: 3 }), 8 * 0.75 * 1.25 ** 3);
});

Deno.test("sourceScore() floors a zero RTT so records still decide", () => {
  const good = sourceScore({ rttMs: 0, downloads: 5, failures: 0 });
  const bad = sourceScore({ rttMs: 0, downloads: 0, failures: 5 });
  assert.ok(good > 0);
  assert.ok(good < bad);
});

Deno.test("rankSources() puts the fastest peer first when records are equal", () => {
  const ranked = rankSources([peer("slow", 20), peer("fast", 1), peer("mid", 5)]);
  assert.deepEqual(ranked.map((c) => c.user), ["fast", "mid", "slow"]);
});

Deno.test("rankSources() lets a reliable record outweigh a slightly slower ping", () => {
  const ranked = rankSources([peer("new", 1.0), peer("proven", 1.2, 4)]);
  assert.deepEqual(ranked.map((c) => c.user), ["proven", "new"]);
});

Deno.test("rankSources() ranks a peer with failures below an equally fast clean one", () => {
  const ranked = rankSources([peer("flaky", 1, 0, 2), peer("clean", 1)]);
  assert.deepEqual(ranked.map((c) => c.user), ["clean", "flaky"]);
});

Deno.test("rankSources() drops peers that did not answer the ping", () => {
  const ranked = rankSources([peer("gone", null, 100), peer("here", 50)]);
  assert.deepEqual(ranked.map((c) => c.user), ["here"]);
});

Deno.test("rankSources() breaks ties by user name so the order is stable", () => {
  const ranked = rankSources([peer("b", 2), peer("a", 2)]);
  assert.deepEqual(ranked.map((c) => c.user), ["a", "b"]);
});

Deno.test("observeChunk() averages throughput, newest sample weighted by alpha", async () => {
  const { freshStats, observeChunk } = await import("../../lib/peer/mod.ts");
  const first = observeChunk(freshStats(), 1_000_000, 10);
  assert.equal(first.rate, 100_000_000);
  assert.equal(first.bytes, 1_000_000);
  const second = observeChunk(first, 1_000_000, 100, 0.5);
  assert.equal(second.rate, 55_000_000);
});

Deno.test("liveScore() prefers delivered throughput over the starting score, and punishes faults", async () => {
  const { liveScore } = await import("../../lib/peer/mod.ts");
  const clean = { bytes: 1, rate: 100e6, stalls: 0, corrupt: 0 };
  assert.equal(liveScore(3, { bytes: 0, rate: null, stalls: 0, corrupt: 0 }), 3);
  assert.ok(liveScore(1000, clean) < liveScore(1, { ...clean, rate: 10e6 }));
  assert.ok(liveScore(1, { ...clean, stalls: 1 }) > liveScore(1, clean));
  assert.ok(liveScore(1, { ...clean, corrupt: 1 }) > liveScore(1, { ...clean, stalls: 1 }));
});

Deno.test("rankHolders() pings the online holders but this peer and ranks those that answer", async () => {
  const holder = (user: string, online = true): HolderInfo => ({
    user,
    host: "127.0.0.1",
    port: 1,
    lastSeen: 0,
    online,
    downloads: 0,
    failures: 0,
  });
  const pinged: string[] = [];
  const unreachable: string[] = [];
  const ranked = await rankHolders({
    name: "a.bin",
    peers: [holder("slow"), holder("me"), holder("off", false), holder("fast"), holder("mute")],
  }, {
    self: "me",
    ping: (p) => {
      pinged.push(p.user);
      return Promise.resolve(({ slow: 9, fast: 1 } as Record<string, number>)[p.user] ?? null);
    },
    onRanked: (_, missing) => unreachable.push(...missing.map((c) => c.user)),
  });
  assert.deepEqual(ranked.map((c) => c.user), ["fast", "slow"]);
  assert.deepEqual(pinged.sort(), ["fast", "mute", "slow"]);
  assert.deepEqual(unreachable, ["mute"]);
});

Deno.test("rankHolders() throws NO_SOURCE when no other holder is online or none answers", async () => {
  const holder: HolderInfo = {
    user: "bob",
    host: "127.0.0.1",
    port: 1,
    lastSeen: 0,
    online: true,
    downloads: 0,
    failures: 0,
  };
  const noSource = (e: unknown) => e instanceof PeerError && e.code === "NO_SOURCE";
  await assert.rejects(
    rankHolders({ name: "a", peers: [{ ...holder, online: false }] }, {
      ping: () => Promise.resolve(1),
    }),
    noSource,
  );
  await assert.rejects(
    rankHolders({ name: "a", peers: [holder] }, { ping: () => Promise.resolve(null) }),
    noSource,
  );
});

Deno.test("candidateOf() marks a partial holder and keeps its TLS flag", () => {
  const holder: HolderInfo = {
    user: "bob",
    host: "h",
    port: 2,
    lastSeen: 0,
    online: true,
    downloads: 1,
    failures: 2,
  };
  assert.deepEqual(candidateOf({ ...holder, tls: true, complete: false }, 3), {
    user: "bob",
    host: "h",
    port: 2,
    tls: true,
    rttMs: 3,
    downloads: 1,
    failures: 2,
    partial: true,
  });
  assert.deepEqual(candidateOf({ ...holder, complete: true }, null), {
    user: "bob",
    host: "h",
    port: 2,
    rttMs: null,
    downloads: 1,
    failures: 2,
  });
});
