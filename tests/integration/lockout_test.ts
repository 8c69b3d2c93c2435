/**
 * No lock-outs, no CPU burning, end to end: a real tracker process, raw protocol connections from
 * chosen loopback addresses (127.0.0.x all reach a tracker on 127.0.0.1 on Linux; `node:net` can
 * bind the source address, `Deno.connect` cannot), and the real `peer.ts` command line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { Duplex as NodeDuplex } from "node:stream";
import { parseAddress, TrackerClient } from "../../lib/peer/mod.ts";
import {
  Channel,
  type Duplex,
  helloReply,
  MAX_CONCURRENT_HASHES,
  MAX_WAITING_HASHES,
  type OutgoingMessage,
  PROTOCOL_VERSION,
  RemoteError,
} from "../../lib/protocol/mod.ts";
import { PASSWORD, registerUsers, runAs, startTracker } from "./_harness.ts";

/** A tracker connection whose source address is `local`, past `hello`. */
async function connectFrom(local: string, port: number): Promise<Channel> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress: local });
  await once(socket, "connect");
  assert.equal(socket.localAddress, local);
  const { readable, writable } = NodeDuplex.toWeb(socket);
  const reader = readable.getReader();
  const writer = writable.getWriter();
  let pending = new Uint8Array(0);
  const conn: Duplex = {
    async read(p) {
      if (pending.length === 0) {
        const { done, value } = await reader.read();
        if (done) return null;
        pending = new Uint8Array(value);
      }
      const n = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
    async write(p) {
      await writer.write(p);
      return p.length;
    },
    close() {
      socket.destroy();
    },
  };
  const channel = new Channel(conn);
  await channel.request({ type: "hello", version: PROTOCOL_VERSION }, helloReply);
  return channel;
}

/** Sends `message` and resolves to the reply's type, or the code of an error reply. */
async function outcome(channel: Channel, message: OutgoingMessage): Promise<string> {
  await channel.send(message);
  const reply = await channel.receive();
  if (reply === null) return "closed";
  return reply.type === "error" ? String(reply.code) : reply.type;
}

function tally(outcomes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

Deno.test("lockout: guesses from 127.0.0.2 slow only 127.0.0.2; the real user logs in from 127.0.0.1", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["carol"]);
  const guesser = await connectFrom("127.0.0.2", tracker.port);
  try {
    // Before the change, 9 guesses locked carol out from every address for minutes.
    const guesses: string[] = [];
    for (let i = 0; i < 9; i++) {
      guesses.push(
        await outcome(guesser, { type: "login", username: "carol", password: `guess-${i}` }),
      );
    }
    assert.deepEqual(guesses.slice(0, 6), Array(6).fill("AUTH_FAILED"));
    assert.deepEqual(guesses.slice(6), ["RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"]);
    // Guesses at many names from 127.0.0.3 slow that address for every name.
    const spray = await connectFrom("127.0.0.3", tracker.port);
    try {
      for (let i = 0; i < 21; i++) {
        assert.equal(
          await outcome(spray, { type: "login", username: `guess${i}`, password: "password1" }),
          "AUTH_FAILED",
        );
      }
      assert.equal(
        await outcome(spray, { type: "login", username: "carol", password: PASSWORD }),
        "RATE_LIMITED",
      );
    } finally {
      spray.close();
    }
    // The owner, from 127.0.0.1, through the real command line and a client alike.
    const run = await runAs("carol", tracker.address, ["sessions"]);
    assert.equal(run.code, 0, run.stderr);
    await using client = await TrackerClient.connect(parseAddress(tracker.address));
    assert.equal((await client.login("carol", PASSWORD)).user, "carol");
  } finally {
    guesser.close();
  }
});

Deno.test("lockout: a register flood beyond the hash queue gets BUSY at once, a taken name USER_EXISTS, honest logins go through", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["carol"]);
  const flood = MAX_CONCURRENT_HASHES + MAX_WAITING_HASHES + 26;
  // Half from each of two addresses, each under the per-address registration limit.
  const channels = await Promise.all(
    Array.from(
      { length: flood },
      (_, i) => connectFrom(i % 2 === 0 ? "127.0.0.4" : "127.0.0.5", tracker.port),
    ),
  );
  const taken = await connectFrom("127.0.0.6", tracker.port);
  try {
    // Every registration is sent before any is answered; then a register of a taken name.
    const floodReplies = Promise.all(
      channels.map((channel, i) =>
        outcome(channel, { type: "register", username: `flood${i}`, password: "password1" })
      ),
    );
    const takenReply = await outcome(taken, {
      type: "register",
      username: "Carol",
      password: "password1",
    });
    // No hash is spent on a taken name, so it is never BUSY, however full the queue.
    assert.equal(takenReply, "USER_EXISTS");
    const counts = tally(await floodReplies);
    assert.deepEqual(Object.keys(counts).sort(), ["BUSY", "ok"], JSON.stringify(counts));
    assert.ok(counts.BUSY! >= 1, JSON.stringify(counts));
    // Once the flood has drained, an honest login goes through.
    await using client = await TrackerClient.connect(parseAddress(tracker.address));
    assert.equal((await client.login("carol", PASSWORD)).user, "carol");
  } finally {
    for (const channel of channels) channel.close();
    taken.close();
  }
});

Deno.test("lockout: one address may register 60 times at once; the 61st is RATE_LIMITED, another address is not", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["carol"]);
  const prober = await connectFrom("127.0.0.7", tracker.port);
  try {
    // Taken names cost no hash, so probing them is cheap for the tracker, and still counted.
    const replies: string[] = [];
    for (let i = 0; i < 61; i++) {
      replies.push(
        await outcome(prober, { type: "register", username: "carol", password: "password1" }),
      );
    }
    assert.deepEqual(tally(replies), { USER_EXISTS: 60, RATE_LIMITED: 1 });
  } finally {
    prober.close();
  }
  await using client = await TrackerClient.connect(parseAddress(tracker.address));
  await client.register("dave", PASSWORD);
});

Deno.test("lockout: names are unique without regard to case, and '.' and '..' are refused", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["alice"]);
  const run = await runAs("Alice", tracker.address, ["register"]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /the name Alice is taken \(as alice;/);
  // Login in another case works, and the session is alice's.
  await using client = await TrackerClient.connect(parseAddress(tracker.address));
  assert.equal((await client.login("ALICE", PASSWORD)).user, "alice");
  for (const username of [".", ".."]) {
    await assert.rejects(client.register(username, PASSWORD), (error: unknown) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal(error.code, "BAD_MESSAGE");
      return true;
    });
    const cli = await runAs(username, tracker.address, ["register"]);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /Cannot use user name "\.{1,2}": .*not \. or \.\./);
  }
});
