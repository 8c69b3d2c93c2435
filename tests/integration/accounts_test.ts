/**
 * Accounts and sessions end to end: a real tracker process, the real `peer.ts` command line, and a
 * raw {@link TrackerClient} where a test needs to hold a token in its hands.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseAddress, TrackerClient } from "../../lib/peer/mod.ts";
import { RemoteError } from "../../lib/protocol/mod.ts";
import {
  type DetailsJson,
  errorLine,
  makeTempDir,
  PASSWORD,
  pollUntil,
  registerUsers,
  runAs,
  runJson,
  runPeer,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

/** Asserts that `promise` rejects with a tracker `error` reply of `code`. */
async function assertRemoteError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RemoteError, `expected a RemoteError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** A token in the right format that the tracker never issued. */
function madeUpToken(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url" })
    .replace(/=+$/, "");
}

Deno.test("accounts: the tracker registers, logs in, refuses and logs out users", async (t) => {
  await using tracker = await startTracker();
  const at = parseAddress(tracker.address);

  await t.step(
    "register creates an account that the command line can then log in with",
    async () => {
      const run = await runAs("ann", tracker.address, ["register"]);
      assert.equal(run.code, 0, run.stderr);
      // The first account of a new tracker is its admin, and register says so.
      assert.equal(run.stdout.trim(), "registered ann (the tracker's first account: its admin)");
      // `list` logs in, lists and logs out.
      assert.deepEqual(await runJson("ann", tracker.address, ["list"]), []);
      await using client = await TrackerClient.connect(at);
      const session = await client.login("ann", PASSWORD);
      assert.equal(session.user, "ann");
      assert.equal(typeof session.token, "string");
    },
  );

  await t.step("register refuses a name that is taken, saying so", async () => {
    const run = await runAs("ann", tracker.address, ["register"], {
      env: { P2PFS_PASSWORD: "another-password" },
    });
    assert.notEqual(run.code, 0);
    assert.match(errorLine(run.stderr, { alone: true }), /the name ann is taken/);
    // The original password still works: the account was not replaced.
    assert.equal((await runAs("ann", tracker.address, ["list"])).code, 0);
  });

  await t.step("register refuses a password shorter than 8 characters", async () => {
    const run = await runAs("shorty", tracker.address, ["register"], {
      env: { P2PFS_PASSWORD: "short" },
    });
    assert.notEqual(run.code, 0);
    assert.match(errorLine(run.stderr, { alone: true }), /at least 8 characters/);
  });

  await t.step("a wrong password is refused with 'wrong username or password'", async () => {
    const run = await runAs("ann", tracker.address, ["list"], {
      env: { P2PFS_PASSWORD: "not-the-password" },
    });
    assert.notEqual(run.code, 0);
    assert.match(errorLine(run.stderr, { alone: true }), /wrong username or password/);
  });

  await t.step("an unknown user gets the same refusal as a wrong password", async () => {
    const run = await runAs("nobody", tracker.address, ["list"]);
    assert.notEqual(run.code, 0);
    assert.match(errorLine(run.stderr, { alone: true }), /wrong username or password/);
  });

  await t.step("a command without a user name is a usage error with exit code 2", async () => {
    const run = await runPeer(["list", "--tracker", tracker.address], {
      env: { P2PFS_USER: "" },
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^error: .*--user NAME/);
  });

  await t.step("a command without a password and without a terminal fails clearly", async () => {
    const run = await runAs("ann", tracker.address, ["list"], { env: { P2PFS_PASSWORD: "" } });
    assert.notEqual(run.code, 0);
    assert.match(errorLine(run.stderr, { alone: true }), /set P2PFS_PASSWORD/);
  });

  await t.step("a made-up token is refused with BAD_TOKEN", async () => {
    await using client = await TrackerClient.connect(at);
    await assertRemoteError(client.list(madeUpToken()), "BAD_TOKEN");
    // The connection stays usable after the refusal.
    const session = await client.login("ann", PASSWORD);
    assert.deepEqual(await client.list(session.token), []);
  });

  await t.step("a token is refused after logout, and other sessions keep working", async () => {
    await using client = await TrackerClient.connect(at);
    const first = await client.login("ann", PASSWORD);
    const second = await client.login("ann", PASSWORD);
    assert.deepEqual(await client.list(first.token), []);
    await client.logout(first.token);
    await assertRemoteError(client.list(first.token), "BAD_TOKEN");
    await assertRemoteError(client.logout(first.token), "BAD_TOKEN");
    assert.deepEqual(await client.list(second.token), []);
  });

  await t.step("a serving peer stopped with SIGTERM logs out and is offline at once", async () => {
    await using share = await makeTempDir();
    await writeFile(share.path, "notes.txt", "shared notes\n");
    await registerUsers(tracker.address, ["bea"]);
    await using bea = await startPeer("bea", share.path, tracker.address);
    const before = await runJson<DetailsJson>("ann", tracker.address, ["details", "notes.txt"]);
    assert.deepEqual(before.peers.map((p) => [p.user, p.online]), [["bea", true]]);
    const status = await bea.stop();
    assert.equal(status.code, 0, bea.process.stderr);
    // The heartbeat timeout is 3 × 10 s here, so only the logout can make it offline this soon.
    const after = await runJson<DetailsJson>("ann", tracker.address, ["details", "notes.txt"]);
    assert.deepEqual(after.peers.map((p) => [p.user, p.online]), [["bea", false]]);
  });

  await t.step("a peer sent SIGTERM the moment it says it is ready still logs out", async () => {
    // Regression: the ready line used to be printed before the signal handler was installed, so
    // an early SIGTERM killed the peer (exit 143) without a logout. One round rarely hits it.
    await using share = await makeTempDir();
    await writeFile(share.path, "early.txt", "early\n");
    await registerUsers(tracker.address, ["cid"]);
    for (let round = 0; round < 8; round++) {
      await using cid = await startPeer("cid", share.path, tracker.address);
      const status = await cid.stop();
      assert.equal(status.code, 0, `round ${round}: ${status.signal ?? ""} ${cid.process.stderr}`);
    }
    const after = await runJson<DetailsJson>("ann", tracker.address, ["details", "early.txt"]);
    assert.deepEqual(after.peers.map((p) => [p.user, p.online]), [["cid", false]]);
  });

  assert.equal((await tracker.stop()).code, 0, tracker.process.stderr);
});

Deno.test("accounts: a session token expires after --session-ttl seconds", async () => {
  // Long enough that the calls right after a login are not late on a busy machine; the test
  // waits for the expiry however long it takes.
  await using tracker = await startTracker({ sessionTtlS: 3 });
  await registerUsers(tracker.address, ["ann"]);
  await using client = await TrackerClient.connect(parseAddress(tracker.address));
  const session = await client.login("ann", PASSWORD);
  assert.deepEqual(await client.list(session.token), []);
  const refusal = await pollUntil("the token to expire", async () => {
    try {
      await client.list(session.token);
      return undefined;
    } catch (error) {
      return error;
    }
  }, { timeoutMs: 20_000, intervalMs: 200 });
  assert.ok(refusal instanceof RemoteError, String(refusal));
  assert.equal(refusal.code, "BAD_TOKEN");
  // Logging in again gives a fresh token that works.
  const fresh = await client.login("ann", PASSWORD);
  assert.deepEqual(await client.list(fresh.token), []);
});
