import assert from "node:assert/strict";
import type { FileDetailView, FileView, PeerView, Stats } from "../../lib/dashboard/mod.ts";
import { encodeHaveMap, manifestId } from "../../lib/protocol/mod.ts";
import { HEARTBEAT_MS, makeFixture, manifest } from "./_fixture.ts";

const MiB = 1 << 20;

Deno.test("/api/stats counts online peers, file versions and the bytes online", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("big.bin", 3 * MiB), manifest("docs/a.txt", 10, "b")]);
  await f.share("bob", [manifest("big.bin", 3 * MiB)]);
  await f.share("old", [manifest("gone.txt", 5, "d")]);
  f.clock.now += 3 * HEARTBEAT_MS; // everyone is still online at exactly three intervals
  await f.store.putPeer("old", {
    host: "127.0.0.1",
    port: 1,
    lastSeen: 0,
    online: true,
    session: "s",
  });
  const { status, body } = await f.getJson<Stats>("/api/stats");
  assert.equal(status, 200);
  assert.equal(body.peersOnline, 2);
  assert.equal(body.peersTotal, 3);
  assert.equal(body.files, 3);
  assert.equal(body.filesOnline, 2);
  assert.equal(body.bytesShared, 3 * MiB + 10);
  assert.equal(body.perMinute.length, 60);
});

Deno.test("/api/stats counts the last hour's transfers and ranks the busiest files", async () => {
  await using f = await makeFixture();
  const sha = "a".repeat(64);
  const transfer = (name: string, ok: boolean) =>
    f.record({
      type: "report",
      user: "cat",
      outcome: "ok",
      report: { name, sha256: sha, source: "ann", ok, bytes: 10, reason: ok ? null : "corrupt" },
    });
  transfer("old.bin", true);
  f.clock.now += 2 * 3600_000;
  transfer("a.bin", true);
  transfer("b.bin", true);
  transfer("b.bin", true);
  transfer("b.bin", false);
  const { body } = await f.getJson<Stats>("/api/stats");
  assert.equal(body.transfersLastHour, 3);
  assert.equal(body.failuresLastHour, 1);
  assert.equal(body.bytesLastHour, 40);
  assert.deepEqual(body.busiestFiles.map((b) => [b.name, b.transfers]), [
    ["b.bin", 2],
    ["a.bin", 1],
    ["old.bin", 1],
  ]);
});

Deno.test("/api/peers lists every peer with its counts and never its session", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("a", 10), manifest("b", 20, "b")], 4000);
  await f.store.addStat("ann", "downloads", 0.5);
  await f.store.addStat("ann", "failures", 1);
  const { body, status } = await f.getJson<PeerView[]>("/api/peers");
  assert.equal(status, 200);
  assert.deepEqual(body, [{
    user: "ann",
    address: "127.0.0.1:4000",
    online: true,
    lastSeen: f.clock.now,
    downloads: 0.5,
    failures: 1,
    filesShared: 2,
    bytesShared: 30,
    downloading: 0,
    stalled: 0,
    announced: true,
  }]);
  const everything = await Promise.all(
    ["/api/peers", "/api/stats", "/api/files", "/api/files/a", "/peers", "/", "/metrics"].map(
      async (path) => (await f.getText(path)).body,
    ),
  );
  for (const text of everything) assert.ok(!text.includes("secret-session-hash"));
});

Deno.test("/api/files?search= keeps the names that contain the text, in any case", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("Docs/Report.pdf", 10), manifest("music.mp3", 20, "b")]);
  const { body } = await f.getJson<FileView[]>("/api/files?search=report");
  assert.deepEqual(body.map((file) => [file.name, file.sourcesOnline, file.holders]), [
    ["Docs/Report.pdf", 1, 1],
  ]);
  assert.equal((await f.getJson<FileView[]>("/api/files")).body.length, 2);
});

Deno.test("/api/files/{name} takes a name with slashes, encoded or not", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("a dir/b%c.bin", 2.5 * MiB)]);
  await f.share("bob", [manifest("a dir/b%c.bin", 2.5 * MiB)]);
  f.clock.now += 10 * HEARTBEAT_MS;
  await f.share("bob", [manifest("a dir/b%c.bin", 2.5 * MiB)]); // bob alone heartbeat in time
  for (const path of ["/api/files/a%20dir%2Fb%25c.bin", "/api/files/a%20dir/b%25c.bin"]) {
    const { status, body } = await f.getJson<FileDetailView>(path);
    assert.equal(status, 200, path);
    assert.equal(body.name, "a dir/b%c.bin");
    const [version] = body.versions;
    assert.equal(version!.chunks, 3);
    assert.equal(version!.sourcesOnline, 1);
    assert.deepEqual(version!.chunkMap, [1, 1, 1]);
    assert.deepEqual(version!.holders.map((h) => [h.user, h.online]), [["bob", true], [
      "ann",
      false,
    ]]);
  }
});

Deno.test("/api/files/{name} answers 404 with a reason for a name nobody shares", async () => {
  await using f = await makeFixture();
  const { status, body } = await f.getJson<{ error: string }>("/api/files/nope.txt");
  assert.equal(status, 404);
  assert.match(body.error, /^Cannot find file: nope\.txt/);
  assert.equal((await f.getJson("/api/files/%E0%A4%A")).status, 404, "a malformed escape");
  assert.equal((await f.getJson("/api/nothing")).status, 404);
});

Deno.test("pages escape what peers chose, like file names", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest(`<script>alert("x")</script>.txt`, 10)]);
  for (const path of ["/files", "/files/%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E.txt"]) {
    const { status, body } = await f.getText(path);
    assert.equal(status, 200, path);
    assert.ok(!body.includes("<script>alert"), path);
    assert.ok(body.includes("&lt;script&gt;alert(&quot;x&quot;)"), path);
  }
});

Deno.test("a page asked for with X-Fragment: 1 returns only its live part", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("a.txt", 10)]);
  const whole = await f.getText("/files?search=a");
  const part = await f.getText("/files?search=a", { headers: { "x-fragment": "1" } });
  assert.match(whole.body, /^<!doctype html>/);
  assert.ok(whole.body.includes('id="search"'));
  assert.ok(!part.body.includes("<html") && !part.body.includes('id="search"'));
  assert.ok(part.body.includes('data-name="a.txt"'));
});

Deno.test("the peers page sorts by the column asked for, in the direction asked for", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("a", 1)]);
  await f.share("bob", [manifest("b", 1, "b")]);
  await f.share("cat", [manifest("c", 1, "c")]);
  await f.store.addStat("bob", "downloads", 5);
  await f.store.addStat("cat", "downloads", 2);
  const order = async (query: string) =>
    [...(await f.getText(`/peers${query}`)).body.matchAll(/data-user="(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(await order(""), ["ann", "bob", "cat"]);
  assert.deepEqual(await order("?sort=downloads&dir=desc"), ["bob", "cat", "ann"]);
  assert.deepEqual(await order("?sort=downloads&dir=asc"), ["ann", "cat", "bob"]);
  assert.deepEqual(await order("?sort=bogus&dir=desc"), ["cat", "bob", "ann"]);
});

Deno.test("every page answers 200, and an unknown one 404", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("a.txt", 10)]);
  for (const path of ["/", "/peers", "/files", "/files/a.txt", "/transfers"]) {
    const response = await f.handle(new Request(`http://127.0.0.1${path}`));
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get("content-type")!, /^text\/html/);
    assert.match(response.headers.get("content-security-policy")!, /script-src 'self'/);
    await response.body?.cancel();
  }
  assert.equal((await f.getText("/nowhere")).status, 404);
  assert.equal((await f.getText("/files/missing.txt")).status, 404);
});

Deno.test("the dashboard refuses to change anything: POST gets 405", async () => {
  await using f = await makeFixture();
  const { status } = await f.getText("/api/stats", { method: "POST", body: "{}" });
  assert.equal(status, 405);
});

Deno.test("/healthz answers ok while the store answers", async () => {
  await using f = await makeFixture();
  const { status, body } = await f.getJson<{ status: string }>("/healthz");
  assert.equal(status, 200);
  assert.equal(body.status, "ok");
});

Deno.test("/api/events starts with hello and sends a change after a tracker event", async () => {
  await using f = await makeFixture();
  const response = await f.handle(new Request("http://127.0.0.1/api/events"));
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`Cannot see ${pattern}: the stream ended after ${text}`);
        text += value;
      }
    };
    await readUntil(/event: hello\n/);
    f.record({ type: "announce", user: "ann", outcome: "ok" });
    await readUntil(/event: change\ndata: (.*)\n\n/);
    const data = JSON.parse(text.match(/event: change\ndata: (.*)\n\n/)![1]!);
    assert.equal(data.seq, 1);
    assert.deepEqual(data.causes, ["announce"]);
  } finally {
    await reader.cancel();
  }
});

Deno.test("/api/files and /files page a long list: every file once, with a link to the next page", async () => {
  await using f = await makeFixture();
  const names = Array.from({ length: 1234 }, (_, i) => `f${String(i).padStart(4, "0")}.txt`);
  await f.share("ann", names.map((name) => manifest(name, 10)));
  const seen: string[] = [];
  let path: string | null = "/api/files?limit=500";
  let pages = 0;
  while (path !== null) {
    const response: Response = await f.handle(new Request(`http://127.0.0.1${path}`));
    const body = await response.json() as FileView[];
    assert.ok(body.length <= 500);
    seen.push(...body.map((file) => file.name));
    const link = response.headers.get("link");
    path = link ? link.slice(1, link.indexOf(">")) : null;
    assert.ok(++pages <= 3, "three pages");
  }
  assert.deepEqual(seen, names);
  const html = (await f.getText("/files")).body;
  assert.match(html, /<span data-stat="files">1234<\/span> files/);
  assert.match(html, /Showing 500 of 1234\./);
  const next = html.match(/rel="next" href="([^"]+)"/)?.[1]?.replaceAll("&amp;", "&");
  assert.ok(next);
  const second = (await f.getText(next)).body;
  assert.ok(second.includes("f0500.txt") && !second.includes("f0499.txt"));
});

Deno.test("a file's page shows its swarm: downloads in progress with their share, counted in the chunk map", async () => {
  await using f = await makeFixture();
  const file = manifest("big.bin", 3 * MiB);
  await f.share("ann", [file]);
  const id = manifestId(file);
  f.partialHolders.update("big.bin", id, {
    user: "dl",
    host: "127.0.0.1",
    port: 5000,
    progress: 1 / 3,
    have: encodeHaveMap(Uint8Array.of(0, 1, 0)),
  });
  const { body } = await f.getJson<FileDetailView>("/api/files/big.bin");
  const version = body.versions[0]!;
  assert.deepEqual(version.chunkMap, [1, 2, 1]);
  assert.deepEqual(
    version.holders.map((h) => [h.user, h.complete, Math.round(h.progress * 100)]),
    [["ann", true, 100], ["dl", false, 33]],
  );
  const page = await f.getText("/files/big.bin");
  assert.match(page.body, /<tr data-user="dl"[\s\S]*?data-state="downloading"[\s\S]*?33\.3%/);
});

Deno.test("a file's page marks a download in progress that said it is stalled", async () => {
  await using f = await makeFixture();
  const file = manifest("big.bin", 3 * MiB);
  await f.share("ann", [file]);
  const id = manifestId(file);
  const holder = { host: "127.0.0.1", port: 5000, progress: 1 / 3 };
  f.partialHolders.update("big.bin", id, { user: "dl", ...holder, stalled: true });
  f.partialHolders.update("big.bin", id, { user: "moving", ...holder });
  const { body } = await f.getJson<FileDetailView>("/api/files/big.bin");
  assert.deepEqual(
    body.versions[0]!.holders.map((h) => [h.user, h.stalled ?? false]),
    [["ann", false], ["dl", true], ["moving", false]],
  );
  const page = await f.getText("/files/big.bin");
  assert.match(page.body, /<tr data-user="dl"[^>]*data-stalled="1"[\s\S]*?stalled: no source/);
  assert.doesNotMatch(page.body, /<tr data-user="moving"[^>]*data-stalled/);
});
