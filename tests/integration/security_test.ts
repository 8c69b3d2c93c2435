/**
 * Hostile input end to end: raw protocol clients asking a real serving peer for files outside its
 * share, malformed frames thrown at a real tracker, and a tracker restarted on its KV file.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAddress, processDownloaderKey, TrackerClient } from "../../lib/peer/mod.ts";
import {
  Channel,
  encodeMessage,
  type Message,
  PROTOCOL_VERSION,
  ProtocolError,
} from "../../lib/protocol/mod.ts";
import {
  type ListedFile,
  makeTempDir,
  PASSWORD,
  pollUntil,
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

const encoder = new TextEncoder();

/** A raw connection to a peer or tracker, closed on dispose. */
async function connectRaw(port: number): Promise<Channel> {
  const signal = AbortSignal.timeout(5_000);
  return new Channel(await Deno.connect({ hostname: "127.0.0.1", port, signal }));
}

/** The next message, or `null` when the other side closed; bounded by 10 s. */
async function next(channel: Channel): Promise<Message | null> {
  return await withTimeout(channel.receive(), 10_000, "a reply");
}

/**
 * A raw peer connection that has said hello and, when given, shown `ticket` (a real one from
 * `details`, bound to this process's downloader key), so what refuses a read is the path check,
 * not a missing ticket.
 */
async function greetPeer(port: number, ticket?: string): Promise<Channel> {
  const channel = await connectRaw(port);
  await channel.send({ type: "hello", version: PROTOCOL_VERSION, agent: "security-test" });
  const hello = await next(channel);
  assert.equal(hello?.type, "hello", JSON.stringify(hello));
  assert.equal(hello?.server, "peer");
  if (ticket === undefined) return channel;
  const proof = await (await processDownloaderKey()).prove(ticket, String(hello.challenge));
  await channel.send({ type: "ticket", ticket, proof });
  assert.deepEqual(await next(channel), { type: "ok" });
  return channel;
}

/**
 * Asserts the reply to a read is an `error` (one of `codes`) and never `data`; with `message`, the
 * error's message must match it too, so a refusal for another reason (a check the attack never
 * meant to reach) does not pass for the one under test.
 */
async function assertRefused(
  channel: Channel,
  codes: string[],
  message?: RegExp,
): Promise<Message> {
  const reply = await next(channel);
  assert.ok(reply, "expected an error reply, got end of stream");
  assert.notEqual(reply.type, "data", `the peer sent data: ${JSON.stringify(reply)}`);
  assert.equal(reply.type, "error", JSON.stringify(reply));
  assert.ok(codes.includes(reply.code as string), JSON.stringify(reply));
  if (message) assert.match(String(reply.message), message, JSON.stringify(reply));
  return reply;
}

/** What the schema says of a `read` whose name is not a safe relative path. */
const UNSAFE_NAME = /name must be a relative path without '\.', '\.\.' or empty parts/;

/** Reads whatever the tracker still sends after bad input, up to its hang-up. */
async function repliesUntilClosed(channel: Channel): Promise<Message[]> {
  const replies: Message[] = [];
  while (true) {
    try {
      const reply = await next(channel);
      if (reply === null) return replies;
      replies.push(reply);
    } catch (error) {
      // A reset connection also counts as hung up; anything else is a failure.
      if (error instanceof Deno.errors.ConnectionReset || error instanceof ProtocolError) {
        return replies;
      }
      throw error;
    }
  }
}

Deno.test("security: a serving peer never sends bytes from outside its share", async (t) => {
  await using tracker = await startTracker();
  await using root = await makeTempDir();
  const share = join(root.path, "share");
  const secret = await writeFile(root.path, "secret.txt", "the crown jewels\n");
  const secretPath = join(root.path, "secret.txt");
  const open = await writeFile(share, "public.txt", "anyone may read this\n");
  await Deno.symlink(secretPath, join(share, "link.txt"));
  await Deno.symlink("../secret.txt", join(share, "relative-link.txt"));
  await Deno.symlink("public.txt", join(share, "inside-link.txt"));
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using ann = await startPeer("ann", share, tracker.address);
  await using bob = await TrackerClient.connect(parseAddress(tracker.address));
  const bobToken = (await bob.login("bob", PASSWORD)).token;
  // public.txt and inside-link.txt are one version, so this ticket opens both.
  const ticket = (await bob.details(bobToken, "public.txt")).ticket!;

  await t.step("only links that stay inside the share are indexed and announced", async () => {
    assert.equal(ann.files, 2);
    const files = await runJson<ListedFile[]>("bob", tracker.address, ["list", "--all"]);
    assert.deepEqual(files.map((f) => f.name), ["inside-link.txt", "public.txt"]);
  });

  await t.step("a read of a shared file is answered with its bytes", async () => {
    using channel = await greetPeer(ann.port, ticket);
    await channel.send({
      type: "read",
      name: "public.txt",
      sha256: sha256Hex(open),
      offset: 0,
      length: open.length,
    });
    const header = await next(channel);
    assert.deepEqual(header, { type: "data", offset: 0, length: open.length });
    const bytes = new Uint8Array(open.length);
    await channel.reader.readExact(bytes);
    assert.deepEqual(bytes, open);
  });

  await t.step("a read of ../secret.txt is refused with BAD_MESSAGE", async () => {
    using channel = await greetPeer(ann.port, ticket);
    await channel.send({
      type: "read",
      name: "../secret.txt",
      sha256: sha256Hex(secret),
      offset: 0,
      length: secret.length,
    });
    await assertRefused(channel, ["BAD_MESSAGE"], UNSAFE_NAME);
  });

  await t.step("a read of an absolute path is refused with BAD_MESSAGE", async () => {
    using channel = await greetPeer(ann.port, ticket);
    await channel.send({
      type: "read",
      name: secretPath,
      sha256: sha256Hex(secret),
      offset: 0,
      length: secret.length,
    });
    await assertRefused(channel, ["BAD_MESSAGE"], UNSAFE_NAME);
  });

  await t.step(
    "a read through a link to a file outside the share is refused: it was never indexed",
    async () => {
      using channel = await greetPeer(ann.port, ticket);
      for (const name of ["link.txt", "relative-link.txt"]) {
        await channel.send({
          type: "read",
          name,
          sha256: sha256Hex(secret),
          offset: 0,
          length: secret.length,
        });
        // Not "no ticket for this version" nor "resolves outside": the indexer left the link out.
        await assertRefused(
          channel,
          ["GONE"],
          new RegExp(`^Cannot read ${name}: not shared here$`),
        );
      }
    },
  );

  await t.step(
    "a link swapped to point outside after it was indexed is refused by the path check",
    async () => {
      // A twin outside the share with the same size and mtime as the indexed target, so only the
      // check that the resolved path lies inside the share can stop it.
      const twinPath = join(root.path, "twin.txt");
      await writeFile(root.path, "twin.txt", "X".repeat(open.length));
      const { mtime } = await Deno.stat(join(share, "public.txt"));
      await Deno.utime(twinPath, mtime!, mtime!);
      const swapped = join(share, "inside-link.txt");
      const read = {
        type: "read",
        name: "inside-link.txt",
        sha256: sha256Hex(open),
        offset: 0,
        length: open.length,
      } as const;
      /** Points the link at `target` and reads it at once, on a new connection. */
      const swapAndRead = async (target: string): Promise<Message | null> => {
        using channel = await greetPeer(ann.port, ticket);
        await Deno.remove(swapped);
        await Deno.symlink(target, swapped);
        await channel.send(read);
        const reply = await next(channel);
        if (reply?.type === "data") {
          await channel.reader.readExact(
            new Uint8Array(reply.length as number),
          );
        }
        return reply;
      };
      // The peer re-indexes half a second after a change in its share and then no longer lists the
      // link (GONE): that says nothing of the path check, so the swap is tried again, with the link
      // pointed back inside and served again first, until a read reaches the check.
      let refusal = await swapAndRead(twinPath);
      for (let tries = 1; refusal?.code === "GONE" && tries < 5; tries++) {
        await pollUntil("the link pointed back inside to be served again", async () => {
          return (await swapAndRead("public.txt"))?.type === "data" || undefined;
        });
        refusal = await swapAndRead(twinPath);
      }
      assert.ok(refusal, "expected an error reply, got end of stream");
      assert.notEqual(refusal.type, "data", `the peer sent data: ${JSON.stringify(refusal)}`);
      assert.equal(refusal.code, "FORBIDDEN", JSON.stringify(refusal));
      assert.match(
        String(refusal.message),
        /^Cannot read inside-link\.txt: it resolves outside the share$/,
      );
    },
  );

  await t.step("a read before hello is refused and the connection closed", async () => {
    using channel = await connectRaw(ann.port);
    await channel.send({
      type: "read",
      name: "public.txt",
      sha256: sha256Hex(open),
      offset: 0,
      length: open.length,
    });
    await assertRefused(channel, ["BAD_MESSAGE"], /^Cannot accept request: send hello first$/);
    assert.equal(await next(channel), null);
  });

  await t.step("after all that, the peer still serves a normal download", async () => {
    await using out = await makeTempDir();
    const run = await runAs("bob", tracker.address, ["get", "public.txt", "--out", out.path]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await Deno.readFile(join(out.path, "public.txt")), open);
  });
});

Deno.test("security: a serving peer answers bad JSON and unknown types with an error and keeps the connection", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await registerUsers(tracker.address, ["ann"]);
  await writeFile(share.path, "a.txt", "hello\n");
  await using ann = await startPeer("ann", share.path, tracker.address);

  using channel = await greetPeer(ann.port);
  await channel.sendRaw(new Uint8Array([0, 0, 0, 3, 0x7b, 0x7b, 0x7b])); // "{{{"
  const badJson = await next(channel);
  assert.equal(badJson?.type, "error", JSON.stringify(badJson));
  assert.equal(badJson?.code, "BAD_JSON");
  await channel.send({ type: "ping", nonce: 1 });
  assert.deepEqual(await next(channel), { type: "pong", nonce: 1 });

  await channel.send({ type: "no-such-request" });
  const unknown = await next(channel);
  assert.equal(unknown?.type, "error", JSON.stringify(unknown));
  assert.equal(unknown?.code, "UNKNOWN_TYPE");
  await channel.send({ type: "ping", nonce: 2 });
  assert.deepEqual(await next(channel), { type: "pong", nonce: 2 });
});

Deno.test("security: malformed frames end one tracker connection, never the tracker", async (t) => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["ann"]);
  // A client connected before the attacks must keep working through them.
  await using bystander = await TrackerClient.connect(parseAddress(tracker.address));
  const session = await bystander.login("ann", PASSWORD);

  const attack = async (bytes: Uint8Array, expectedCode: string | undefined) => {
    using channel = await connectRaw(tracker.port);
    await channel.sendRaw(bytes);
    const replies = await repliesUntilClosed(channel);
    for (const reply of replies) assert.equal(reply.type, "error", JSON.stringify(reply));
    if (expectedCode) assert.equal(replies[0]?.code, expectedCode, JSON.stringify(replies));
    assert.deepEqual(await bystander.list(session.token), []);
    const run = await runAs("ann", tracker.address, ["list", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.json(), []);
  };

  await t.step("garbage bytes (an HTTP request) get an error and a hang-up", async () => {
    await attack(encoder.encode("GET / HTTP/1.1\r\nHost: tracker\r\n\r\n"), "FRAME_TOO_LARGE");
  });

  await t.step("a length prefix of 4 GiB is refused without waiting for the body", async () => {
    await attack(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), "FRAME_TOO_LARGE");
  });

  await t.step("a frame whose body is not JSON is refused with BAD_JSON", async () => {
    const body = encoder.encode("{not json");
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setUint32(0, body.length);
    frame.set(body, 4);
    await attack(frame, "BAD_JSON");
  });

  await t.step(
    "invalid JSON after hello gets BAD_JSON and the connection stays in step",
    async () => {
      using channel = await connectRaw(tracker.port);
      await channel.sendRaw(
        new Uint8Array([
          ...encodeMessage({ type: "hello", version: PROTOCOL_VERSION }),
          ...[0, 0, 0, 3, 0x7b, 0x7b, 0x7b], // "{{{"
          ...encodeMessage({ type: "list", token: session.token }),
        ]),
      );
      const replies = [await next(channel), await next(channel), await next(channel)];
      assert.deepEqual(replies.map((r) => r?.type), ["hello", "error", "files"]);
      assert.equal(replies[1]?.code, "BAD_JSON");
    },
  );

  await t.step("a frame cut off by a hang-up leaves the tracker serving", async () => {
    {
      using channel = await connectRaw(tracker.port);
      await channel.sendRaw(new Uint8Array([0, 0, 0, 50, 0x7b, 0x22]));
    }
    const run = await runAs("ann", tracker.address, ["list", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await bystander.list(session.token), []);
  });

  assert.equal((await tracker.stop()).code, 0, tracker.process.stderr);
});

Deno.test("security: a tracker restarted on the same KV file keeps accounts and files", async () => {
  await using data = await makeTempDir();
  await using share = await makeTempDir();
  const kvPath = join(data.path, "tracker.kv");
  const kept = await writeFile(share.path, "kept.txt", "still here after a restart\n");
  {
    await using first = await startTracker({ kvPath });
    await registerUsers(first.address, ["ann", "bob"]);
    await using ann = await startPeer("ann", share.path, first.address);
    assert.equal(ann.files, 1);
    assert.equal((await ann.stop()).code, 0, ann.process.stderr);
    assert.equal((await first.stop()).code, 0, first.process.stderr);
  }
  await using second = await startTracker({ kvPath });
  await using client = await TrackerClient.connect(parseAddress(second.address));
  const session = await client.login("bob", PASSWORD);
  assert.equal(session.user, "bob");
  const all = await runJson<ListedFile[]>("bob", second.address, ["list", "--all"]);
  assert.deepEqual(all, [
    {
      name: "kept.txt",
      size: kept.length,
      sha256: sha256Hex(kept),
      id: versionId(kept),
      sources: 0,
    },
  ]);
  // The account still refuses a wrong password after the restart.
  const wrong = await runAs("ann", second.address, ["list"], {
    env: { P2PFS_PASSWORD: "not-the-password" },
  });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /wrong username or password/);
});

Deno.test("security: a tracker sent SIGTERM the moment it says it is ready exits cleanly", async () => {
  // Regression: the ready line used to be printed before the signal handler was installed, so an
  // early SIGTERM killed the tracker (exit 143) before it closed its store.
  await using data = await makeTempDir();
  const kvPath = join(data.path, "tracker.kv");
  for (let round = 0; round < 8; round++) {
    await using tracker = await startTracker({ kvPath });
    const status = await tracker.stop();
    assert.equal(
      status.code,
      0,
      `round ${round}: ${status.signal ?? ""} ${tracker.process.stderr}`,
    );
  }
});
