/**
 * The tracker's HTTP side end to end: a real tracker process with `--http-port 0`, real serving
 * peers and a real download, checked through the JSON API, `/metrics`, `/healthz` and the event
 * stream.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type DashboardStats,
  type GetJson,
  getJson,
  makeTempDir,
  MiB,
  PASSWORD,
  pollUntil,
  randomBytes,
  registerUsers,
  runAs,
  runJson,
  sha256Hex,
  startPeer,
  startTracker,
  versionId,
  withTimeout,
  writeFile,
} from "./_harness.ts";

Deno.test("dashboard: the HTTP API reports real peers, files and a transfer", async (t) => {
  await using tracker = await startTracker();
  const api = (path: string) => new URL(path, tracker.dashboardUrl).href;
  await using annShare = await makeTempDir();
  await using bobShare = await makeTempDir();
  await using danShare = await makeTempDir();
  await using out = await makeTempDir();
  const big = randomBytes(2.5 * MiB);
  await writeFile(annShare.path, "big.bin", big);
  await writeFile(bobShare.path, "big.bin", big);
  const notes = await writeFile(annShare.path, "docs/read me.txt", "notes\n");
  await writeFile(danShare.path, "dan.txt", "from dan\n");
  await registerUsers(tracker.address, ["ann", "bob", "cat", "dan"]);
  await using ann = await startPeer("ann", annShare.path, tracker.address);
  await using bob = await startPeer("bob", bobShare.path, tracker.address);

  await t.step("/healthz answers ok", async () => {
    const response = await fetch(api("/healthz"));
    assert.equal(response.status, 200);
    assert.equal((await response.json()).status, "ok");
  });

  await t.step("/api/stats counts the two online peers and their files", async () => {
    const stats = await getJson<DashboardStats>(api("/api/stats"));
    assert.equal(stats.peersOnline, 2);
    assert.equal(stats.peersTotal, 2);
    assert.equal(stats.files, 2);
    assert.equal(stats.bytesShared, big.length + notes.length);
    assert.equal(stats.transfersLastHour, 0);
  });

  let got: GetJson | undefined;
  await t.step(
    "a download shows up as transfers, in stats, peers and the file's page",
    async () => {
      got = await runJson<GetJson>("cat", tracker.address, ["get", "big.bin", "--out", out.path]);
      assert.equal(got.sha256, sha256Hex(big));
      const sources = Object.keys(got.perSource).filter((user) => got!.perSource[user]! > 0);
      const stats = await pollUntil("the download's reports in /api/stats", async () => {
        const stats = await getJson<DashboardStats>(api("/api/stats"));
        return stats.transfersLastHour >= sources.length ? stats : undefined;
      });
      assert.equal(stats.transfersLastHour, sources.length);
      assert.equal(stats.failuresLastHour, 0);
      assert.deepEqual(stats.busiestFiles.map((f) => [f.name, f.transfers]), [[
        "big.bin",
        sources.length,
      ]]);
      const transfers = await getJson<{ source: string; user: string; ok: boolean }[]>(
        api("/api/transfers"),
      );
      assert.deepEqual(transfers.map((r) => r.source).sort(), sources.sort());
      assert.ok(transfers.every((r) => r.user === "cat" && r.ok));
      const peers = await getJson<{ user: string; downloads: number; online: boolean }[]>(
        api("/api/peers"),
      );
      assert.deepEqual(peers.map((p) => [p.user, p.online]), [["ann", true], ["bob", true]]);
      const downloads = peers.reduce((sum, p) => sum + p.downloads, 0);
      assert.ok(Math.abs(downloads - 1) < 0.01, `downloads add up to one file, got ${downloads}`);
    },
  );

  await t.step("/api/files filters by name and /api/files/{name} takes a slash", async () => {
    const found = await getJson<{ name: string; sourcesOnline: number }[]>(
      api("/api/files?search=READ"),
    );
    assert.deepEqual(found, [{
      name: "docs/read me.txt",
      size: notes.length,
      sha256: sha256Hex(notes),
      id: versionId(notes),
      sourcesOnline: 1,
      holders: 1,
      downloading: 0,
      stalled: 0,
    }]);
    for (const path of ["/api/files/docs%2Fread%20me.txt", "/api/files/docs/read%20me.txt"]) {
      const file = await getJson<{ name: string; versions: { holders: { user: string }[] }[] }>(
        api(path),
      );
      assert.equal(file.name, "docs/read me.txt");
      assert.deepEqual(file.versions[0]!.holders.map((h) => h.user), ["ann"]);
    }
    const bigFile = await getJson<
      { versions: { chunks: number; chunkMap: number[]; sourcesOnline: number }[] }
    >(api("/api/files/big.bin"));
    assert.equal(bigFile.versions[0]!.chunks, 3);
    assert.deepEqual(bigFile.versions[0]!.chunkMap, [2, 2, 2]);
    assert.equal((await fetch(api("/api/files/missing.bin"))).status, 404);
    await (await fetch(api("/api/files/missing.bin"))).body?.cancel();
  });

  await t.step("/metrics counts requests, failed logins and bytes reported", async () => {
    const wrong = await runAs("cat", tracker.address, ["list"], {
      env: { P2PFS_PASSWORD: `${PASSWORD}-wrong` },
    });
    assert.notEqual(wrong.code, 0);
    // The counters are the cluster's, written to KV in batches (requests every second).
    const text = await pollUntil("the failed login in /metrics", async () => {
      const text = await (await fetch(api("/metrics"))).text();
      const both = /^p2pfs_logins_failed_total 1$/m.test(text) &&
        /^p2pfs_requests_total\{type="login",outcome="AUTH_FAILED"\} 1$/m.test(text);
      return both ? text : undefined;
    }, { intervalMs: 50 });
    assert.match(text, /^p2pfs_peers_online 2$/m);
    assert.match(text, /^p2pfs_files 2$/m);
    assert.match(text, /^p2pfs_logins_failed_total 1$/m);
    assert.match(text, new RegExp(`^p2pfs_bytes_reported_transferred_total ${big.length}$`, "m"));
    assert.match(text, /^p2pfs_requests_total\{type="announce",outcome="ok"\} \d+$/m);
    assert.match(text, /^p2pfs_requests_total\{type="login",outcome="AUTH_FAILED"\} 1$/m);
    assert.match(text, /^p2pfs_request_duration_seconds_count\{type="login"\} \d+$/m);
  });

  await t.step("no answer carries a password, a hash or a session", async () => {
    for (
      const path of ["/api/stats", "/api/peers", "/api/files", "/api/files/big.bin", "/metrics"]
    ) {
      const text = await (await fetch(api(path))).text();
      assert.doesNotMatch(text, /password|salt|session|token/i, path);
    }
  });

  await t.step("/api/events sends a change when a new peer comes online", async () => {
    const controller = new AbortController();
    const response = await fetch(api("/api/events"), { signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const readUntil = (pattern: RegExp) =>
      withTimeout(
        (async () => {
          while (!pattern.test(text)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`the event stream ended after:\n${text}`);
            text += value;
          }
        })(),
        20_000,
        `${pattern} on the event stream`,
      );
    try {
      await readUntil(/event: hello\n/);
      await using _dan = await startPeer("dan", danShare.path, tracker.address);
      await readUntil(/event: change\ndata: .*"announce".*\n/);
      const stats = await getJson<DashboardStats>(api("/api/stats"));
      assert.equal(stats.peersOnline, 3);
    } finally {
      controller.abort();
      await reader.cancel().catch(() => {});
    }
  });

  await t.step("a peer that logs out is counted offline", async () => {
    await bob.stop();
    await pollUntil("bob offline in /api/stats", async () => {
      const stats = await getJson<DashboardStats>(api("/api/stats"));
      return stats.peersOnline === 2 && stats.peersTotal === 3 ? stats : undefined;
    });
  });

  await t.step("the dashboard is read-only: POST gets 405", async () => {
    const response = await fetch(api("/api/stats"), { method: "POST", body: "{}" });
    assert.equal(response.status, 405);
    await response.body?.cancel();
  });
  void ann;
});
