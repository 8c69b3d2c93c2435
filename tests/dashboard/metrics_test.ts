import assert from "node:assert/strict";
import { HEARTBEAT_MS, makeFixture, manifest } from "./_fixture.ts";

Deno.test("/metrics exposes gauges, counters and a cumulative latency histogram", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("a.bin", 100)]);
  f.record({ type: "login", user: "ann", outcome: "ok", ms: 3 });
  f.record({ type: "login", user: "x", outcome: "AUTH_FAILED", ms: 30 });
  f.record({
    type: "report",
    user: "cat",
    outcome: "ok",
    report: {
      name: "a.bin",
      sha256: "a".repeat(64),
      source: "ann",
      ok: true,
      bytes: 100,
      reason: null,
    },
  });
  f.record({
    type: "report",
    user: "cat",
    outcome: "ok",
    report: {
      name: "a.bin",
      sha256: "a".repeat(64),
      source: "ann",
      ok: false,
      bytes: 7,
      reason: "corrupt",
    },
  });
  const response = await f.handle(new Request("http://127.0.0.1/metrics"));
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await response.text();
  const lines = new Set(text.split("\n"));
  for (
    const line of [
      "p2pfs_peers_online 1",
      "p2pfs_files 1",
      "p2pfs_bytes_shared 100",
      'p2pfs_requests_total{type="login",outcome="AUTH_FAILED"} 1',
      'p2pfs_requests_total{type="login",outcome="ok"} 1',
      'p2pfs_requests_total{type="report",outcome="ok"} 2',
      "p2pfs_logins_failed_total 1",
      'p2pfs_transfers_total{outcome="ok"} 1',
      'p2pfs_transfers_total{outcome="failed"} 1',
      'p2pfs_transfer_failures_total{reason="corrupt"} 1',
      "p2pfs_bytes_reported_transferred_total 107",
      'p2pfs_request_duration_seconds_bucket{type="login",le="0.0025"} 0',
      'p2pfs_request_duration_seconds_bucket{type="login",le="0.005"} 1',
      'p2pfs_request_duration_seconds_bucket{type="login",le="0.05"} 2',
      'p2pfs_request_duration_seconds_bucket{type="login",le="+Inf"} 2',
      'p2pfs_request_duration_seconds_count{type="login"} 2',
      "# TYPE p2pfs_request_duration_seconds histogram",
    ]
  ) assert.ok(lines.has(line), `missing ${line} in\n${text}`);
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    assert.match(
      line,
      /^[a-z_][a-z0-9_]*(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.e+-]+$/,
      line,
    );
  }
});

Deno.test("/metrics counts a peer that fell silent as offline", async () => {
  await using f = await makeFixture();
  await f.share("ann", [manifest("a.bin", 100)]);
  f.clock.now += 3 * HEARTBEAT_MS + 1;
  const text = await (await f.handle(new Request("http://127.0.0.1/metrics"))).text();
  assert.match(text, /^p2pfs_peers_online 0$/m);
  assert.match(text, /^p2pfs_peers 1$/m);
});
