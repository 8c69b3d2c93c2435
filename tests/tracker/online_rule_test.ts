import assert from "node:assert/strict";
import {
  IndexFollower,
  isOnline,
  KvTrackerStore,
  Liveness,
  MISSED_HEARTBEATS_OFFLINE,
} from "../../lib/tracker/mod.ts";

const HEARTBEAT_MS = 10_000;
const LAST_ONLINE_MS = MISSED_HEARTBEATS_OFFLINE * HEARTBEAT_MS;

Deno.test("isOnline() keeps a peer online through three missed heartbeats, the last moment included", () => {
  const at = { now: 1_000_000, heartbeatMs: HEARTBEAT_MS };
  assert.equal(isOnline({ online: true, lastSeen: at.now }, at), true);
  assert.equal(isOnline({ online: true, lastSeen: at.now - LAST_ONLINE_MS }, at), true);
  assert.equal(isOnline({ online: true, lastSeen: at.now - LAST_ONLINE_MS - 1 }, at), false);
});

Deno.test("isOnline() counts a peer that logged out as offline, however recently it was heard", () => {
  assert.equal(
    isOnline({ online: false, lastSeen: 5 }, { now: 5, heartbeatMs: HEARTBEAT_MS }),
    false,
  );
});

Deno.test("Liveness.isOnline() asks the same rule at the tracker's clock and interval", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  const clock = { now: 1_000_000 };
  const liveness = new Liveness(store, new IndexFollower(store), {
    heartbeatMs: HEARTBEAT_MS,
    now: () => clock.now,
  });
  const peer = { host: "127.0.0.1", port: 1, online: true, session: "s", lastSeen: clock.now };
  for (const silentMs of [0, LAST_ONLINE_MS - 1, LAST_ONLINE_MS, LAST_ONLINE_MS + 1]) {
    clock.now = peer.lastSeen + silentMs;
    const rule = isOnline(peer, { now: clock.now, heartbeatMs: HEARTBEAT_MS });
    assert.equal(liveness.isOnline(peer), rule, `silent for ${silentMs} ms`);
    assert.equal(rule, silentMs <= LAST_ONLINE_MS);
  }
});
