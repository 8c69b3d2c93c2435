import assert from "node:assert/strict";
import type {
  FileDetailView,
  FileView,
  PeerDetailView,
  PeerView,
  Stats,
} from "../../lib/dashboard/mod.ts";
import { manifestId } from "../../lib/protocol/mod.ts";
import { isOnline, MISSED_HEARTBEATS_OFFLINE } from "../../lib/tracker/mod.ts";
import { HEARTBEAT_MS, makeFixture, manifest } from "./_fixture.ts";

const LAST_ONLINE_MS = MISSED_HEARTBEATS_OFFLINE * HEARTBEAT_MS;

Deno.test("the dashboard calls a peer online exactly when the tracker's rule does", async () => {
  await using f = await makeFixture();
  const silences = [0, LAST_ONLINE_MS, LAST_ONLINE_MS + 1, 10 * LAST_ONLINE_MS];
  for (const [i, silentMs] of silences.entries()) {
    await f.share(`p${i}`, [manifest(`f${i}.bin`, 10, "abcd"[i])]);
    const record = (await f.store.getPeer(`p${i}`))!;
    await f.store.putPeer(`p${i}`, { ...record, lastSeen: f.clock.now - silentMs });
  }
  const { body: peers } = await f.getJson<PeerView[]>("/api/peers");
  for (const [i, silentMs] of silences.entries()) {
    const record = (await f.store.getPeer(`p${i}`))!;
    const rule = isOnline(record, { now: f.clock.now, heartbeatMs: HEARTBEAT_MS });
    assert.equal(rule, silentMs <= LAST_ONLINE_MS);
    assert.equal(peers.find((p) => p.user === `p${i}`)?.online, rule, `silent for ${silentMs} ms`);
  }
});

Deno.test("the files list, a file's page and a peer's shares count a version's sources online alike", async () => {
  await using f = await makeFixture();
  const big = manifest("big.bin", 3 << 20);
  await f.share("ann", [big]);
  await f.share("bob", [big]);
  await f.share("cat", [big]);
  // bob falls silent one moment too long; cat logs out.
  const bob = (await f.store.getPeer("bob"))!;
  await f.store.putPeer("bob", { ...bob, lastSeen: f.clock.now - LAST_ONLINE_MS - 1 });
  const cat = (await f.store.getPeer("cat"))!;
  await f.store.putPeer("cat", { ...cat, online: false });

  const { body: files } = await f.getJson<FileView[]>("/api/files");
  const { body: file } = await f.getJson<FileDetailView>("/api/files/big.bin");
  const { body: ann } = await f.getJson<PeerDetailView>("/api/peers/ann");
  const version = file.versions[0]!;
  assert.deepEqual(
    [
      files[0]?.sourcesOnline,
      version.sourcesOnline,
      version.counts.sourcesOnline,
      ann.shares[0]?.sourcesOnline,
    ],
    [1, 1, 1, 1],
  );
  assert.equal(version.counts.holders, 3);
  assert.deepEqual(version.chunkMap, [1, 1, 1], "each chunk has the one online source");
  assert.match((await f.getText("/files")).body, /data-col="sources">1</);
  assert.match((await f.getText("/files/big.bin")).body, /data-stat="sourcesOnline">1</);
});

Deno.test("the peers table, its count and /api/stats agree on who is online: a silent peer that downloads is", async () => {
  await using f = await makeFixture();
  const big = manifest("big.bin", 3 << 20);
  await f.share("ann", [big]);
  await f.share("bob", [manifest("b.txt", 10, "b")]);
  await f.share("old", [manifest("o.txt", 10, "c")]);
  for (const user of ["bob", "old"]) {
    const record = (await f.store.getPeer(user))!;
    await f.store.putPeer(user, { ...record, lastSeen: f.clock.now - LAST_ONLINE_MS - 1 });
  }
  // bob is silent as a sharer but downloads now; cy never announced and downloads.
  for (const user of ["bob", "cy"]) {
    f.partialHolders.update("big.bin", manifestId(big), {
      user,
      host: "127.0.0.1",
      port: 6000,
      progress: 0.5,
    });
  }
  const { body: peers } = await f.getJson<PeerView[]>("/api/peers");
  assert.deepEqual(
    peers.map((p) => [p.user, p.online]),
    [["ann", true], ["bob", true], ["cy", true], ["old", false]],
  );
  const { body: stats } = await f.getJson<Stats>("/api/stats");
  assert.deepEqual([stats.peersOnline, stats.peersTotal], [3, 4]);
  const page = (await f.getText("/peers")).body;
  assert.match(page, /data-stat="peersOnline">3<\/span> online of <span data-stat="peersTotal">4</);
});
