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
import {
  Channel,
  encodeMessage,
  helloReply,
  HTTP_HEADER_TIMEOUT_MS,
  MAX_CONNECTIONS_PER_ACCOUNT,
  PROTOCOL_VERSION,
} from "../../lib/protocol/mod.ts";
import {
  type GetJson,
  makeTempDir,
  PASSWORD,
  type PingJson,
  pollUntil,
  randomBytes,
  registerUsers,
  runJson,
  sameBytes,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

/** A raw TCP socket from source address `local` to 127.0.0.1:`port`, once connected. */
async function socketFrom(local: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress: local });
  socket.on("error", () => {});
  await once(socket, "connect");
  return socket;
}

/**
 * Keeps `count` connections open from `addresses` (spread evenly): each sends `greeting`, then
 * `drip()` every `everyMs` when given, and is re-opened as soon as the server closes it.
 */
function hold(
  port: number,
  addresses: string[],
  count: number,
  options: { greeting: Uint8Array | string; drip?: () => string; everyMs?: number },
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
        await new Promise((done) => setTimeout(done, 10));
        continue;
      }
      if (stopped) {
        socket.destroy(); // connected after the attack ended
        return;
      }
      opened++;
      sockets.add(socket);
      const ended = new Promise((done) => socket.on("close", done));
      socket.on("data", () => {}); // read what the server says, so it never waits on us
      socket.write(options.greeting);
      const drip = options.drip;
      const timer = drip ? setInterval(() => socket.write(drip()), options.everyMs) : undefined;
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
    /** Ends the attack; resolves to how many connections the server closed meanwhile. */
    async stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
      await Promise.all(running);
      return closedByServer;
    },
  };
}

/** Waits until `attack` opened `count` connections (it keeps them, re-opening closed ones). */
async function attacking(attack: { opened(): number }, count: number): Promise<void> {
  await pollUntil(
    `${count} attack connections`,
    () => Promise.resolve(attack.opened() >= count || undefined),
    { timeoutMs: 20_000, intervalMs: 50 },
  );
}

Deno.test("256 slow-loris connections from 8 addresses leave honest page loads answering", async () => {
  await using tracker = await startTracker();
  const port = Number(new URL(tracker.dashboardUrl).port);
  const attackers = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  let line = 0;
  const attack = hold(port, attackers, 256, {
    greeting: "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    drip: () => `X-Slow-${line++}: 1\r\n`,
    everyMs: 1_000,
  });
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  let closed = 0;
  try {
    // Let the attack take every slot it can before the honest requests start.
    await attacking(attack, 256);
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
    closed = await attack.stop();
    client.close();
  }
  // The server cut slow senders off (by the waiting cap, and by the header deadline).
  assert.ok(closed > 0, "the server closed no slow-loris connection");
});

Deno.test("connections that never show a ticket, 64 from each of 4 addresses, leave a seed pinged and downloaded from", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["seeder", "bob"]);
  await using share = await makeTempDir();
  const bytes = await writeFile(share.path, "film.bin", randomBytes(3 * 1024 * 1024 + 17));
  await using seeder = await startPeer("seeder", share.path, tracker.address);
  const attackers = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
  const attack = hold(seeder.port, attackers, 256, {
    greeting: encodeMessage({ type: "hello", version: PROTOCOL_VERSION }),
  });
  let closed = 0;
  try {
    await attacking(attack, 256);
    // Every unticketed slot is taken; those over the caps are closed after the short window and
    // opened again: the attack goes on through the downloads below.
    await attacking(attack, 256 + 128);
    await using out = await makeTempDir();
    const got = await runJson<GetJson>("bob", tracker.address, [
      "get",
      "film.bin",
      "--out",
      out.path,
    ]);
    assert.deepEqual(got.sources, ["seeder"]);
    assert.ok(sameBytes(await Deno.readFile(got.path), bytes));
    const ping = await runJson<PingJson>("bob", tracker.address, ["ping", "seeder"]);
    assert.equal(ping.online, true);
  } finally {
    closed = await attack.stop();
  }
  // Those over the caps were closed after the short window, and re-opened.
  assert.ok(closed > 0, "the seed closed no connection without a ticket");
});

/** Logs `username` in over a raw connection and returns the session token. */
async function tokenOf(port: number, username: string): Promise<string> {
  const channel = new Channel(await Deno.connect({ hostname: "127.0.0.1", port }));
  try {
    await channel.request({ type: "hello", version: PROTOCOL_VERSION }, helloReply);
    await channel.send({ type: "login", username, password: PASSWORD });
    const reply = await channel.receive();
    assert.equal(reply?.type, "session", JSON.stringify(reply));
    return String(reply.token);
  } finally {
    channel.close();
  }
}

Deno.test("one account's connections from 17 addresses leave honest logins and gets working", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["seeder", "bob", "mallory"]);
  await using share = await makeTempDir();
  const bytes = await writeFile(share.path, "notes.bin", randomBytes(256 * 1024 + 3));
  await using _seeder = await startPeer("seeder", share.path, tracker.address);
  const token = await tokenOf(tracker.port, "mallory");
  // 60 logged-in connections from each of 17 addresses: 1,020 of the tracker's 1,024.
  const attackers = Array.from({ length: 17 }, (_, i) => `127.0.0.${i + 10}`);
  const greeting = new Uint8Array([
    ...encodeMessage({ type: "hello", version: PROTOCOL_VERSION }),
    ...encodeMessage({ type: "whoami", token }),
  ]);
  const attack = hold(tracker.port, attackers, 17 * 60, { greeting });
  let closed = 0;
  try {
    await attacking(attack, 17 * 60);
    // The account holds its cap; the rest of its connections were turned away or evicted.
    await pollUntil(
      "the attack to be cut down",
      () => Promise.resolve(attack.opened() > 17 * 60 + MAX_CONNECTIONS_PER_ACCOUNT || undefined),
    );
    const listed = await runJson<unknown[]>("bob", tracker.address, ["list"]);
    assert.ok(Array.isArray(listed) && listed.length === 1, JSON.stringify(listed));
    await using out = await makeTempDir();
    const got = await runJson<GetJson>("bob", tracker.address, [
      "get",
      "notes.bin",
      "--out",
      out.path,
    ]);
    assert.ok(sameBytes(await Deno.readFile(got.path), bytes));
  } finally {
    closed = await attack.stop();
  }
  assert.ok(closed > 0, "the tracker closed none of the account's connections");
});
