/**
 * The dashboard during a swarm, on an in-memory store and a settable clock: downloads in progress
 * with their rates, downloaders among the peers, a page per peer, and every page counting the same
 * way (`counts.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  DOWNLOAD_IDLE_MS,
  type DownloadView,
  type FileDetailView,
  type FileView,
  type PeerDetailView,
  type PeerView,
  type Stats,
} from "../../lib/dashboard/mod.ts";
import { manifestId } from "../../lib/protocol/mod.ts";
import { type Fixture, makeFixture, manifest } from "./_fixture.ts";

const MiB = 1 << 20;

/** `ann` seeds `big.bin` (4 MiB); `dl1`-`dl3` download it (they never announced). */
async function swarm(f: Fixture): Promise<string> {
  const file = manifest("big.bin", 4 * MiB);
  await f.share("ann", [file]);
  const id = manifestId(file);
  for (const [user, progress] of [["dl1", 0.25], ["dl2", 0.5], ["dl3", 0]] as const) {
    f.partialHolders.update("big.bin", id, { user, host: "127.0.0.1", port: 6000, progress });
  }
  return id;
}

/** Moves the clock and sends `progress` for `user`. */
function report(f: Fixture, id: string, user: string, progress: number, stalled = false): void {
  f.partialHolders.update("big.bin", id, {
    user,
    host: "127.0.0.1",
    port: 6000,
    progress,
    ...(stalled ? { stalled } : {}),
  });
}

Deno.test("every page counts holders, sources online and downloads the same way", async () => {
  await using f = await makeFixture();
  await swarm(f);
  const files = (await f.getJson<FileView[]>("/api/files")).body;
  const detail = (await f.getJson<FileDetailView>("/api/files/big.bin")).body;
  const ann = (await f.getJson<PeerDetailView>("/api/peers/ann")).body;
  const stats = (await f.getJson<Stats>("/api/stats")).body;
  // ann whole; dl1 and dl2 hold chunks and serve them; dl3 holds nothing yet.
  const expected = { holders: 1, sourcesOnline: 3, downloading: 3, stalled: 0 };
  const [row] = files;
  assert.deepEqual(
    {
      holders: row!.holders,
      sourcesOnline: row!.sourcesOnline,
      downloading: row!.downloading,
      stalled: row!.stalled,
    },
    expected,
  );
  assert.deepEqual(detail.versions[0]!.counts, expected);
  assert.equal(detail.versions[0]!.sourcesOnline, expected.sourcesOnline);
  assert.equal(ann.shares[0]!.holders, expected.holders);
  assert.equal(ann.shares[0]!.sourcesOnline, expected.sourcesOnline);
  assert.equal(stats.downloading, 3);
  assert.equal(stats.peersOnline, 4);
  const filesPage = (await f.getText("/files")).body;
  assert.match(filesPage, /data-col="sources">3</);
  assert.match(filesPage, /data-col="holders">1</);
  const metrics = (await f.getText("/metrics")).body;
  assert.match(metrics, /^p2pfs_downloads_in_progress 3$/m);
  assert.match(metrics, /^p2pfs_peers_online 4$/m);
  const filePage = (await f.getText("/files/big.bin")).body;
  assert.match(filePage, /data-stat="sourcesOnline">3</);
  assert.match(filePage, /data-stat="holders">1</);
  assert.match(filePage, /data-stat="downloading">3</);
});

Deno.test("the transfers card and the chart's total count the same window", async () => {
  await using f = await makeFixture();
  const report = { name: "a", sha256: "a".repeat(64), source: "ann", bytes: 10 };
  // One an hour and a half ago (outside), six in the window, one failed.
  f.clock.now -= 90 * 60_000;
  f.record({
    type: "report",
    user: "bo",
    outcome: "ok",
    report: { ...report, ok: true, reason: null },
  });
  f.clock.now += 90 * 60_000;
  for (let i = 0; i < 6; i++) {
    f.clock.now += 1_000;
    f.record({
      type: "report",
      user: "bo",
      outcome: "ok",
      report: { ...report, ok: true, reason: null },
    });
  }
  f.record({
    type: "report",
    user: "bo",
    outcome: "ok",
    report: { ...report, ok: false, reason: "timeout" },
  });
  const stats = (await f.getJson<Stats>("/api/stats")).body;
  assert.equal(stats.transfersLastHour, 6);
  assert.equal(stats.failuresLastHour, 1);
  const page = (await f.getText("/")).body;
  assert.match(page, /data-stat="transfersLastHour">6</);
  assert.match(
    page,
    /aria-label="Transfers per minute over the last 60 minutes: 6 worked, 1 failed"/,
  );
});

Deno.test("downloaders are listed among the peers while they download, and counted online", async () => {
  await using f = await makeFixture();
  await swarm(f);
  const peers = (await f.getJson<PeerView[]>("/api/peers")).body;
  assert.deepEqual(
    peers.map((p) => [p.user, p.online, p.announced, p.downloading]),
    [["ann", true, true, 0], ["dl1", true, false, 1], ["dl2", true, false, 1], [
      "dl3",
      true,
      false,
      1,
    ]],
  );
  assert.equal(peers.find((p) => p.user === "dl1")!.address, "127.0.0.1:6000");
  const page = (await f.getText("/peers")).body;
  assert.match(page, /<tr data-user="dl2">[\s\S]*?href="\/peers\/dl2"/);
  assert.match(page, /data-stat="peersOnline">4</);
});

Deno.test("a download's rate comes from two progress reports, and one that stops moving is marked stalled", async () => {
  await using f = await makeFixture();
  const id = await swarm(f);
  const first = (await f.getJson<DownloadView[]>("/api/downloads")).body;
  assert.equal(first.find((d) => d.user === "dl1")!.bytesPerSecond, null);
  f.clock.now += 2_000;
  report(f, id, "dl1", 0.5); // 1 MiB more in 2 s
  report(f, id, "dl2", 0.5); // no progress
  const second = (await f.getJson<DownloadView[]>("/api/downloads")).body;
  assert.equal(second.find((d) => d.user === "dl1")!.bytesPerSecond, MiB / 2);
  assert.equal(second.find((d) => d.user === "dl2")!.bytesPerSecond, 0);
  assert.equal(second.find((d) => d.user === "dl2")!.stalled, false);
  // dl2 keeps reporting the same share for DOWNLOAD_IDLE_MS, and dl3 (silent) is still at 0: both
  // hang.
  for (let waited = 0; waited < DOWNLOAD_IDLE_MS; waited += 2_000) {
    f.clock.now += 2_000;
    report(f, id, "dl1", Math.min(0.99, 0.5 + waited / 40_000));
    report(f, id, "dl2", 0.5);
    await f.getJson("/api/downloads");
  }
  const hung = (await f.getJson<DownloadView[]>("/api/downloads")).body;
  assert.deepEqual(
    hung.map((d) => [d.user, d.stalled, d.stalledWhy ?? null]),
    [["dl1", false, null], ["dl2", true, "no progress"], ["dl3", true, "no progress"]],
  );
  const stats = (await f.getJson<Stats>("/api/stats")).body;
  assert.equal(stats.stalled, 2);
  const overview = (await f.getText("/")).body;
  assert.match(
    overview,
    /<tr data-download="dl2"[^>]*data-stalled="1"[\s\S]*?stalled: no progress/,
  );
});

Deno.test("a download that said it is stalled is marked on every page that lists it", async () => {
  await using f = await makeFixture();
  const id = await swarm(f);
  f.clock.now += 2_000;
  report(f, id, "dl3", 0, true);
  for (const path of ["/", "/transfers", "/peers/dl3"]) {
    const page = (await f.getText(path)).body;
    assert.match(
      page,
      /<tr data-download="dl3"[^>]*data-stalled="1"[\s\S]*?stalled: no source/,
      path,
    );
  }
  assert.match((await f.getText("/files")).body, /1 stalled/);
  assert.match((await f.getText("/peers")).body, /<tr data-user="dl3">[\s\S]*?1 stalled/);
});

Deno.test("a peer's page shows what it shares, what it downloads and its counts", async () => {
  await using f = await makeFixture();
  await swarm(f);
  const other = manifest("other.txt", 100, "b");
  await f.share("dl1", [other], 7000);
  f.record({
    type: "report",
    user: "dl2",
    outcome: "ok",
    report: {
      name: "other.txt",
      sha256: other.sha256,
      source: "dl1",
      ok: true,
      bytes: 100,
      reason: null,
    },
  });
  const { status, body } = await f.getJson<PeerDetailView>("/api/peers/dl1");
  assert.equal(status, 200);
  assert.equal(body.peer.announced, true);
  assert.deepEqual(body.shares.map((s) => s.name), ["other.txt"]);
  assert.deepEqual(body.downloads.map((d) => [d.name, d.progress]), [["big.bin", 0.25]]);
  assert.deepEqual(body.transfers.map((t) => [t.source, t.user]), [["dl1", "dl2"]]);
  const page = await f.getText("/peers/dl1");
  assert.equal(page.status, 200);
  assert.match(page.body, /<h1 title="dl1">dl1<\/h1>/);
  assert.match(page.body, /data-stat="downloading">1</);
  assert.match(page.body, /href="\/files\/other\.txt"/);
  assert.match(page.body, /data-download="dl1"/);
});

Deno.test("a download that finished and seeds counts as a holder and an online peer, not a download", async () => {
  await using f = await makeFixture();
  const id = await swarm(f);
  f.clock.now += 2_000;
  report(f, id, "dl1", 1);
  const file = (await f.getJson<FileDetailView>("/api/files/big.bin")).body;
  assert.deepEqual(file.versions[0]!.counts, {
    holders: 2,
    sourcesOnline: 3,
    downloading: 2,
    stalled: 0,
  });
  const peers = (await f.getJson<PeerView[]>("/api/peers")).body;
  const dl1 = peers.find((p) => p.user === "dl1")!;
  assert.deepEqual([dl1.online, dl1.downloading], [true, 0]);
  assert.match((await f.getText("/peers")).body, /<tr data-user="dl1">[\s\S]*?seeding/);
  assert.equal((await f.getJson<Stats>("/api/stats")).body.peersOnline, 4);
});

Deno.test("a peer nobody knows gets a 404 page and a 404 from the API", async () => {
  await using f = await makeFixture();
  assert.equal((await f.getText("/peers/nobody")).status, 404);
  const api = await f.getJson<{ error: string }>("/api/peers/nobody");
  assert.equal(api.status, 404);
  assert.match(api.body.error, /Cannot find peer: nobody is not known/);
});

Deno.test("the chunk map has a legend, and long names are cut with the full name on hover", async () => {
  await using f = await makeFixture();
  const long = "a-very-long-folder-name/" + "x".repeat(120) + ".bin";
  await f.share("ann", [manifest(long, 10)]);
  const page = (await f.getText("/files/" + long)).body;
  assert.match(page, /<ul class="legend"[\s\S]*no online source[\s\S]*4 or more/);
  const files = (await f.getText("/files")).body;
  assert.ok(files.includes(`<a class="trunc" href="/files/${long}" title="${long}">`));
});
