/**
 * Caps that keep a real tracker from running out: idle connections to the dashboard cannot use up
 * its open files (and so cannot break the protocol port), idle connections that never log in
 * cannot keep an honest client from logging in, and connections that announce large frames hold
 * no more than the frame budget.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Channel, encodeFrame, type Message } from "../../lib/protocol/mod.ts";
import {
  closeAll,
  pollUntil,
  registerUsers,
  runAs,
  startTracker,
  withTimeout,
} from "./_harness.ts";

/** Opens up to `count` connections, 100 at a time; ones the kernel does not take are skipped. */
async function openMany(port: number, count: number): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  for (let at = 0; at < count; at += 100) {
    const batch = await Promise.allSettled(
      Array.from(
        { length: Math.min(100, count - at) },
        () => Deno.connect({ hostname: "127.0.0.1", port, signal: AbortSignal.timeout(5_000) }),
      ),
    );
    for (const r of batch) if (r.status === "fulfilled") conns.push(r.value);
  }
  return conns;
}

async function healthz(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
    signal: AbortSignal.timeout(5_000),
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test("caps: 1,000 idle dashboard connections leave a tracker limited to 256 open files answering on both ports", async () => {
  await using tracker = await startTracker({ wrapper: ["prlimit", "--nofile=256:256"] });
  const { address, httpPort, limits } = tracker;
  assert.match(limits, /^limits: 256 open files; protocol \d+ connections, dashboard \d+/);
  const [, protocol, dashboard] = limits.match(/protocol (\d+) connections, dashboard (\d+)/)!;
  assert.ok(Number(protocol) + Number(dashboard) < 256, limits);
  const idle = await openMany(httpPort, 1_000);
  try {
    assert.ok(idle.length > Number(dashboard), `only ${idle.length} connections opened`);
    // Protocol port: register and list still work.
    await registerUsers(address, ["cap"]);
    const run = await runAs("cap", address, ["list", "--json"]);
    assert.equal(run.code, 0, run.stderr);
  } finally {
    closeAll(idle);
  }
  // Dashboard port: answers again once the idle connections are gone.
  assert.equal(
    await pollUntil("the dashboard to answer", async () => {
      const status = await healthz(httpPort).catch(() => 0);
      return status === 200 ? status : undefined;
    }),
    200,
  );
  const again = await runAs("cap", address, ["list", "--json"]);
  assert.equal(again.code, 0, again.stderr);
});

Deno.test("caps: idle connections past hello that never log in do not stop an honest client logging in", async () => {
  await using tracker = await startTracker({ args: ["--max-unauthenticated", "8"] });
  const { address } = tracker;
  await registerUsers(address, ["honest"]);
  const [hostname, port] = address.split(":");
  const channels: Channel[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const channel = new Channel(await Deno.connect({ hostname: hostname!, port: Number(port) }));
      channels.push(channel);
      await channel.send({ type: "hello", version: 1 });
      const reply = await channel.receive();
      assert.equal(reply?.type, "hello");
    }
    const run = await runAs("honest", address, ["list", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    // The oldest idle ones were closed to make room.
    const first = await withTimeout(channels[0]!.receive().catch(() => null), 5_000, "a close");
    assert.equal(first, null);
  } finally {
    closeAll(channels);
  }
});

Deno.test("caps: connections announcing 1 MiB frames hold no more than the frame budget", async () => {
  const frame = 4 + 1024 * 1024;
  // Room for four partly received 1 MiB frames, not five.
  await using tracker = await startTracker({
    args: ["--frame-budget-bytes", String(4 * frame + 100)],
  });
  const { address } = tracker;
  await registerUsers(address, ["big"]);
  const [hostname, port] = address.split(":");
  const conns = await openMany(Number(port), 6);
  assert.equal(conns.length, 6);
  const header = encodeFrame(new Uint8Array(1024 * 1024)).subarray(0, 4 + 1000);
  try {
    for (const conn of conns) await conn.write(header);
    // Two cannot get budget: each gets BUSY within the wait, and is closed.
    const replies = conns.map((conn) => new Channel(conn).receive().catch(() => null));
    const busy: Message[] = [];
    for (const reply of replies) {
      reply.then((message) => {
        if (message?.code === "BUSY") busy.push(message);
      });
    }
    await pollUntil("two BUSY replies", () => Promise.resolve(busy.length >= 2 || undefined), {
      timeoutMs: 15_000,
    });
    assert.match(
      String(busy[0]!.message),
      /Cannot accept frame: .* bytes of frames are being received/,
    );
    // Meanwhile honest clients are served.
    const run = await runAs("big", address, ["list", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(busy.length, 2, "more than the two over the budget were refused");
  } finally {
    closeAll(conns);
  }
  // With the budget free again, a large frame is read in full (and answered on its merits).
  const conn = await Deno.connect({ hostname: hostname!, port: Number(port) });
  const channel = new Channel(conn);
  try {
    await conn.write(encodeFrame(new Uint8Array(1024 * 1024).fill(0x20)));
    const reply = await pollUntil("a reply", async () => await channel.receive() ?? undefined);
    assert.notEqual(reply.code, "BUSY", JSON.stringify(reply));
  } finally {
    channel.close();
  }
});
