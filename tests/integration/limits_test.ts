/**
 * Connection limits and timeouts of a real tracker: too many connections (overall or from one
 * address) get a clear `BUSY` error, a slow-loris client is cut off by the handshake timeout, and
 * hundreds of idle connections do not stop others being served.
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeFrame } from "../../lib/protocol/mod.ts";
import { closeAll, pollUntil, registerUsers, runAs, startTracker } from "./_harness.ts";

/** Opens `count` raw connections that never say hello. */
async function idleConnections(address: string, count: number): Promise<Deno.TcpConn[]> {
  const [hostname, port] = address.split(":");
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    conns.push(await Deno.connect({ hostname: hostname!, port: Number(port) }));
  }
  return conns;
}

Deno.test("limits: connections over --max-connections get a BUSY error until others close", async () => {
  await using tracker = await startTracker({ args: ["--max-connections", "4"] });
  const { address } = tracker;
  await registerUsers(address, ["lim"]);
  const idle = await idleConnections(address, 4);
  try {
    // The 5th connection is refused with a reason, and nothing else breaks.
    const run = await pollUntil("a refusal", async () => {
      const r = await runAs("lim", address, ["list"]);
      return r.code !== 0 ? r : undefined;
    });
    assert.match(run.stderr, /error: .*Cannot accept connection: 4 connections are open/);
  } finally {
    closeAll(idle);
  }
  const ok = await pollUntil("the tracker to serve again", async () => {
    const r = await runAs("lim", address, ["list", "--json"]);
    return r.code === 0 ? r : undefined;
  });
  assert.deepEqual(ok.json(), []);
});

Deno.test("limits: connections over --max-per-address from one address get a BUSY error", async () => {
  await using tracker = await startTracker({ args: ["--max-per-address", "3"] });
  const { address } = tracker;
  await registerUsers(address, ["lim"]);
  const idle = await idleConnections(address, 3);
  try {
    const run = await pollUntil("a refusal", async () => {
      const r = await runAs("lim", address, ["list"]);
      return r.code !== 0 ? r : undefined;
    });
    assert.match(run.stderr, /3 connections from 127\.0\.0\.1 are open/);
  } finally {
    closeAll(idle);
  }
});

Deno.test("limits: a slow-loris client is cut off by the handshake timeout while others are served", async () => {
  await using tracker = await startTracker({ args: ["--handshake-timeout-ms", "300"] });
  const { address } = tracker;
  await registerUsers(address, ["lim"]);
  const [loris] = await idleConnections(address, 1);
  try {
    // Two bytes of a frame header, then nothing: the tracker must hang up by itself.
    const frame = encodeFrame(new TextEncoder().encode('{"type":"hello","version":1}'));
    await loris!.write(frame.subarray(0, 2));
    const served = await runAs("lim", address, ["list", "--json"]);
    assert.equal(served.code, 0, served.stderr);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      loris!.read(new Uint8Array(64)).catch(() => null),
      new Promise<"open">((resolve) => timer = setTimeout(() => resolve("open"), 15_000)),
    ]);
    clearTimeout(timer);
    assert.notEqual(ended, "open", "the tracker kept the slow-loris connection open");
  } finally {
    closeAll([loris!]);
  }
});

Deno.test("limits: hundreds of idle connections do not stop a normal client", async () => {
  // All come from 127.0.0.1, so the per-address cap (64 by default) is raised for this test.
  await using tracker = await startTracker({ args: ["--max-per-address", "1000"] });
  const { address } = tracker;
  await registerUsers(address, ["lim"]);
  const idle = await idleConnections(address, 200);
  try {
    const run = await runAs("lim", address, ["list", "--json"]);
    assert.equal(run.code, 0, run.stderr);
  } finally {
    closeAll(idle);
  }
});
