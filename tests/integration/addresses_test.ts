/**
 * Peer addresses and text from other parties, end to end: a real tracker records the address an
 * announce comes from (or, with `--trust-announced-hosts`, the host a peer names), refuses a host
 * that is not an address or a DNS name, and the command line writes out the control characters in
 * what a hostile peer or tracker sends before it reaches a terminal.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TrackerClient } from "../../lib/peer/mod.ts";
import { Channel, PROTOCOL_VERSION, RemoteError } from "../../lib/protocol/mod.ts";
import {
  type DetailsJson,
  makeTempDir,
  PASSWORD,
  registerUsers,
  runAs,
  runJson,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

/** An escape sequence that would retitle the window and clear the screen. */
const ATTACK = "\u001b]0;owned\u0007\u001b[2J";
/** How {@link ATTACK} reads once written out. */
const ATTACK_SHOWN = "\\x1b]0;owned\\x07\\x1b[2J";

/** A one-file share folder. */
async function shareWithOneFile() {
  const dir = await makeTempDir();
  await writeFile(dir.path, "notes.txt", "hello from ann\n");
  return dir;
}

/** A TCP server answering every message of every connection with `reply(message)`. */
function fakeServer(reply: (message: Record<string, unknown>) => Record<string, unknown>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const channels = new Set<Channel>();
  const serving = (async () => {
    for await (const conn of listener) {
      const channel = new Channel(conn);
      channels.add(channel);
      (async () => {
        try {
          for (let m = await channel.receive(); m !== null; m = await channel.receive()) {
            await channel.send(reply(m) as { type: string });
          }
        } catch {
          // the client went away
        } finally {
          channel.close();
          channels.delete(channel);
        }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const channel of channels) channel.close();
      await serving.catch(() => {});
    },
  };
}

Deno.test("a peer's --announce-host is not recorded: details shows the address the tracker saw", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using share = await shareWithOneFile();
  await using ann = await startPeer("ann", share.path, tracker.address, {
    args: ["--announce-host", "10.1.2.3"],
  });
  assert.equal(ann.host, "127.0.0.1", "the ready line shows the address the tracker recorded");

  const details = await runJson<DetailsJson>("bob", tracker.address, ["details", "notes.txt"]);
  assert.deepEqual(details.peers.map((p) => p.address), [`127.0.0.1:${ann.port}`]);

  const human = await runAs("bob", tracker.address, ["details", "notes.txt"]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`ann\\s+127\\.0\\.0\\.1:${ann.port}\\s`));
  assert.doesNotMatch(human.stdout, /10\.1\.2\.3/);
});

Deno.test("with --trust-announced-hosts the tracker records the announced host, and still refuses a host with an escape sequence", async (t) => {
  await using tracker = await startTracker({ args: ["--trust-announced-hosts"] });
  await registerUsers(tracker.address, ["ann", "bob", "mallory"]);
  await using share = await shareWithOneFile();
  await using ann = await startPeer("ann", share.path, tracker.address, {
    args: ["--announce-host", "10.1.2.3"],
  });

  await t.step("details shows the announced host", async () => {
    assert.equal(ann.host, "10.1.2.3");
    const details = await runJson<DetailsJson>("bob", tracker.address, ["details", "notes.txt"]);
    assert.deepEqual(details.peers.map((p) => p.address), [`10.1.2.3:${ann.port}`]);
  });

  await t.step("a raw announce whose host carries ESC is refused by the schema", async () => {
    await using client = await TrackerClient.connect({
      hostname: "127.0.0.1",
      port: tracker.port,
    });
    const session = await client.login("mallory", PASSWORD);
    for (const host of [`evil${ATTACK}.example`, "10.1.2.3\nbob 127.0.0.1:1", "a b"]) {
      await assert.rejects(
        client.announce(session.token, { host, port: 7071 }, []),
        (error) =>
          error instanceof RemoteError && error.code === "BAD_MESSAGE" &&
          /announce\.host must be an IPv4 address, an IPv6 address or a DNS name/.test(
            error.message,
          ),
      );
    }
    // Nothing was recorded, and the connection still serves requests.
    await assert.rejects(
      client.locate(session.token, "mallory"),
      (error) => error instanceof RemoteError && error.code === "NOT_FOUND",
    );
    await client.logout(session.token);
  });

  await t.step("a peer refuses such an --announce-host before it starts", async () => {
    const run = await runAs("mallory", tracker.address, [
      "serve",
      "--share",
      share.path,
      "--port",
      "0",
      "--announce-host",
      `x${ATTACK}`,
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(`Cannot use --announce-host "x${ATTACK_SHOWN}"`), run.stderr);
    assert.ok(!run.stderr.includes("\u001b"), "no raw ESC on stderr");
  });
});

Deno.test("ping writes out the escape sequences in a hostile peer's error message", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["bob", "mallory"]);
  // Mallory's "peer" answers everything with an error whose message is an escape sequence.
  await using hostile = fakeServer(() => ({
    type: "error",
    code: "REFUSED",
    message: `Cannot serve: ${ATTACK}gotcha`,
  }));
  await using client = await TrackerClient.connect({ hostname: "127.0.0.1", port: tracker.port });
  const session = await client.login("mallory", PASSWORD);
  await client.announce(session.token, { host: "127.0.0.1", port: hostile.port }, []);

  const run = await runAs("bob", tracker.address, ["ping", "mallory"]);
  assert.ok(run.stdout.includes(`(Cannot serve: ${ATTACK_SHOWN}gotcha)`), run.stdout);
  assert.ok(!run.stdout.includes("\u001b") && !run.stderr.includes("\u001b"), "no raw ESC");
  await client.logout(session.token);
});

Deno.test("sessions writes out the escape sequences in an agent name, and --json keeps it exact", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["mallory"]);
  await using client = await TrackerClient.connect(
    { hostname: "127.0.0.1", port: tracker.port },
    { agent: `evil${ATTACK}` },
  );
  const session = await client.login("mallory", PASSWORD);

  const human = await runAs("mallory", tracker.address, ["sessions"]);
  assert.equal(human.code, 0, human.stderr);
  assert.ok(human.stdout.includes(`evil${ATTACK_SHOWN}`), human.stdout);
  assert.ok(!human.stdout.includes("\u001b"), "no raw ESC");

  const json = await runJson<{ agent?: string }[]>("mallory", tracker.address, ["sessions"]);
  assert.ok(json.some((s) => s.agent === `evil${ATTACK}`), JSON.stringify(json));
  await client.logout(session.token);
});

Deno.test("an error message from a hostile tracker is printed with its escape sequences written out", async () => {
  await using hostile = fakeServer((message) =>
    message.type === "hello"
      ? { type: "hello", version: PROTOCOL_VERSION, server: "tracker", heartbeatMs: 10_000 }
      : { type: "error", code: "AUTH_FAILED", message: `Cannot log in: ${ATTACK}\u009b31m` }
  );
  const run = await runAs("ann", `127.0.0.1:${hostile.port}`, ["list"]);
  assert.equal(run.code, 1, run.stderr);
  assert.ok(run.stderr.includes(`error: Cannot log in: ${ATTACK_SHOWN}\\x9b31m`), run.stderr);
  for (const raw of ["\u001b", "\u009b", "\u0007"]) {
    assert.ok(!run.stderr.includes(raw), "no raw control characters");
  }
});
