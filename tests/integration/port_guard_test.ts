/**
 * Nobody can block a port, end to end: real tracker and peer processes, attacks sent for real
 * from chosen loopback addresses (127.0.0.x all reach 127.0.0.1 on Linux; `node:net` can bind the
 * source address, `Deno.connect` cannot), and honest requests that must keep working meanwhile.
 *
 * @module
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { HTTP_HEADER_TIMEOUT_MS } from "../../lib/protocol/mod.ts";
import { startTracker } from "./_harness.ts";

/** A raw TCP socket from source address `local` to 127.0.0.1:`port`, once connected. */
async function socketFrom(local: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress: local });
  socket.on("error", () => {});
  await once(socket, "connect");
  return socket;
}

/**
 * Keeps `count` slow-loris connections open from `addresses`: each sends the start of a request,
 * then one header line every `everyMs`, and is re-opened when the server closes it. Resolves to
 * a stop function that reports how many connections the server closed meanwhile.
 */
function slowLoris(
  port: number,
  addresses: string[],
  count: number,
  everyMs: number,
): { stop(): Promise<number>; opened(): number } {
  let stopped = false;
  let closedByServer = 0;
  let opened = 0;
  const sockets = new Set<net.Socket>();
  const keepOne = async (local: string): Promise<void> => {
    while (!stopped) {
      let socket: net.Socket;
      try {
        socket = await socketFrom(local, port);
      } catch {
        continue;
      }
      opened++;
      sockets.add(socket);
      const ended = new Promise((done) => socket.on("close", done));
      socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      const timer = setInterval(() => socket.write(`X-Slow-${opened}: 1\r\n`), everyMs);
      await ended;
      clearInterval(timer);
      sockets.delete(socket);
      if (!stopped) closedByServer++;
    }
  };
  const running = Array.from(
    { length: count },
    (_, i) => keepOne(addresses[i % addresses.length]!),
  );
  return {
    opened: () => opened,
    async stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
      await Promise.all(running);
      return closedByServer;
    },
  };
}

Deno.test("256 slow-loris connections from 8 addresses leave honest page loads answering", async () => {
  await using tracker = await startTracker();
  const port = Number(new URL(tracker.dashboardUrl).port);
  const attackers = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  const attack = slowLoris(port, attackers, 256, 1_000);
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    // Let the attack take every slot it can before the honest requests start.
    const signal = AbortSignal.timeout(10_000);
    while (attack.opened() < 256 && !signal.aborted) {
      await new Promise((done) => setTimeout(done, 50));
    }
    assert.ok(attack.opened() >= 256, `only ${attack.opened()} attack connections opened`);
    // Page loads go on working for longer than the header deadline, while the attack goes on.
    const until = Date.now() + HTTP_HEADER_TIMEOUT_MS + 1_000;
    let loads = 0;
    while (Date.now() < until) {
      for (const path of ["", "healthz", "api/stats"]) {
        const response = await fetch(new URL(path, tracker.dashboardUrl), {
          client,
          signal: AbortSignal.timeout(5_000),
        });
        const body = await response.text();
        assert.equal(response.status, 200, `${path}: ${body}`);
        loads++;
      }
    }
    assert.ok(loads >= 3);
  } finally {
    const closed = await attack.stop();
    client.close();
    // The server cut slow senders off (by the waiting cap, and by the header deadline).
    assert.ok(closed > 0, "the server closed no slow-loris connection");
  }
});
