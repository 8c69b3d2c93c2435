/**
 * The load check: 500 simulated peers in 4 worker processes (`scripts/_load_client.ts`) log in,
 * announce 20 files each, then heartbeat, list and ask details concurrently against one real
 * tracker for `LOAD_SECONDS` (8 here by default; `deno task bench` runs the same load for 20 s
 * and reports the figures). Every request must succeed. Accounts are seeded into the tracker's KV
 * file with a cheap scrypt cost, except 5 per worker that register through the protocol: 1,000
 * full-cost hashes would take about a minute of CPU here.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LOAD_TRACKER_FLAGS, runLoad, seedAccounts } from "../../scripts/load.ts";
import { makeTempDir, startTracker } from "./_harness.ts";

Deno.test("a tracker serves 500 concurrent peers that log in, announce, list, ask details and heartbeat, without one error", async () => {
  const seconds = Number(Deno.env.get("LOAD_SECONDS") ?? 8);
  const options = {
    processes: 4,
    peersPerProcess: 125,
    registerPerProcess: 5,
    seconds,
    password: "load-test-password",
  };
  await using dir = await makeTempDir();
  const kvPath = join(dir.path, "tracker.kv");
  await seedAccounts(kvPath, options);
  await using tracker = await startTracker({ kvPath, args: [...LOAD_TRACKER_FLAGS] });

  const result = await runLoad(tracker.address, {
    ...options,
    trackerPid: tracker.process.pid,
    signal: AbortSignal.timeout(seconds * 1000 + 240_000),
  });
  const summary = JSON.stringify(result);

  assert.equal(result.errors, 0, summary);
  assert.equal(result.peers, 500);
  assert.equal(result.setup.login?.count, 500, summary);
  assert.equal(result.setup.register?.count, 20, summary);
  assert.equal(result.setup.announce?.count, 500, summary);
  for (const op of ["heartbeat", "details", "list"] as const) {
    assert.ok((result.byOp[op] ?? 0) > 0, `no ${op} request was made: ${summary}`);
  }
});
