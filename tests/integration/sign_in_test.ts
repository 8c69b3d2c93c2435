/**
 * Signing in once (`login`), the kept session, `logout`, `passwd`, and serving peers whose session
 * ends: real tracker and peer processes on loopback, each test with its own config folder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type ListedFile,
  makeTempDir,
  PASSWORD,
  registerUsers,
  runPeer,
  Spawned,
  startPeer,
  startTracker,
  TIMEOUT_MS,
  writeFile,
} from "./_harness.ts";

/** Runs a peer command with this config folder and no password unless one is given. */
function as(config: string, address: string, env: Record<string, string> = {}) {
  return (args: string[]) =>
    runPeer([...args, "--tracker", address], {
      env: { XDG_CONFIG_HOME: config, P2PFS_PASSWORD: "", ...env },
    });
}

Deno.test("login keeps the session readable by its owner alone, later commands need no password, and logout ends and forgets it", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["ann"]);
  await using config = await makeTempDir();
  const peer = as(config.path, tracker.address);

  const login = await runPeer(["login", "--user", "ann", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: config.path },
  });
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /^logged in as ann on /);
  const file = join(config.path, "p2pfs", "sessions.json");
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(join(config.path, "p2pfs"))).mode! & 0o777, 0o700);
  assert.doesNotMatch(await Deno.readTextFile(file), new RegExp(PASSWORD), "no password kept");

  // No --user, no password: the kept session.
  const list = await peer(["list", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.json<ListedFile[]>(), []);
  const sessions = await peer(["sessions", "--json"]);
  assert.equal(sessions.code, 0, sessions.stderr);
  // Commands on a kept session make no session of their own.
  assert.equal(sessions.json<unknown[]>().length, 1);

  const logout = await peer(["logout"]);
  assert.equal(logout.code, 0, logout.stderr);
  assert.match(logout.stdout, /revoked 1 session; the kept session is forgotten/);
  const after = await peer(["list"]);
  assert.equal(after.code, 2, "no user and no session: a usage error");
  assert.match(after.stderr, /p2pfs-peer login/);
  const again = await peer(["logout"]);
  assert.notEqual(again.code, 0);
});

Deno.test("a kept session that was ended elsewhere gives one line saying to sign in again, and is forgotten", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["bob"]);
  await using config = await makeTempDir();
  const peer = as(config.path, tracker.address);
  const login = await runPeer(["login", "--user", "bob", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: config.path },
  });
  assert.equal(login.code, 0, login.stderr);
  // Every session of bob ends, from a command that signs in with the password.
  const all = await runPeer(["logout", "--all", "--user", "bob", "--tracker", tracker.address]);
  assert.equal(all.code, 0, all.stderr);

  const list = await peer(["list"]);
  assert.equal(list.code, 1);
  const lines = list.stderr.trim().split("\n");
  assert.equal(lines.length, 1, list.stderr);
  assert.match(
    lines[0]!,
    /^error: Cannot use the session of bob kept for .*: it was ended or has expired; sign in again with 'p2pfs-peer login'$/,
  );
  const next = await peer(["list"]);
  assert.equal(next.code, 2, "the dead session was forgotten");
});

Deno.test("passwd needs the old password, ends the other sessions unless --keep-sessions, and the new password works", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["cat"]);
  await using config = await makeTempDir();
  const NEW = "a-new-password-1";
  const login = await runPeer(["login", "--user", "cat", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: config.path },
  });
  assert.equal(login.code, 0, login.stderr);
  const peer = as(config.path, tracker.address);

  const wrong = await runPeer(["passwd", "--tracker", tracker.address], {
    env: {
      XDG_CONFIG_HOME: config.path,
      P2PFS_PASSWORD: "not-the-password",
      P2PFS_NEW_PASSWORD: NEW,
    },
  });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /old password is wrong/);

  const short = await runPeer(["passwd", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: config.path, P2PFS_PASSWORD: PASSWORD, P2PFS_NEW_PASSWORD: "short" },
  });
  assert.equal(short.code, 2, short.stderr);

  // A serving peer of cat's (signed in with the password): its session ends with the change.
  await using share = await makeTempDir();
  await writeFile(share.path, "notes.txt", new TextEncoder().encode("notes"));
  await using serving = await startPeer("cat", share.path, tracker.address);
  const changed = await runPeer(["passwd", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: config.path, P2PFS_PASSWORD: PASSWORD, P2PFS_NEW_PASSWORD: NEW },
  });
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /^changed the password of cat; ended 1 other session/);
  const status = await serving.process.wait(TIMEOUT_MS);
  assert.equal(status.code, 1, "the serving peer stops rather than sign in again");
  assert.match(serving.process.stderr, /session was ended on the tracker/);

  // The kept session was the one used: it still works. The old password no longer does.
  assert.equal((await peer(["list"])).code, 0);
  const old = await runPeer(["list", "--user", "cat", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: join(config.path, "none") },
  });
  assert.equal(old.code, 1);
  assert.match(old.stderr, /wrong username or password/);
  const fresh = await runPeer(["list", "--user", "cat", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: join(config.path, "none"), P2PFS_PASSWORD: NEW },
  });
  assert.equal(fresh.code, 0, fresh.stderr);

  // --keep-sessions: the kept session and the others stay.
  const back = await runPeer(["passwd", "--keep-sessions", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: config.path, P2PFS_PASSWORD: NEW, P2PFS_NEW_PASSWORD: PASSWORD },
  });
  assert.equal(back.code, 0, back.stderr);
  assert.equal(back.stdout.trim(), "changed the password of cat");
});

Deno.test("serve on a kept session stops and says why when the session is ended, instead of signing in again", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["dan"]);
  await using config = await makeTempDir();
  await using share = await makeTempDir();
  await writeFile(share.path, "a.txt", new TextEncoder().encode("hello"));
  const login = await runPeer(["login", "--user", "dan", "--tracker", tracker.address], {
    env: { XDG_CONFIG_HOME: config.path },
  });
  assert.equal(login.code, 0, login.stderr);
  await using serve = new Spawned("serve on a kept session", [
    "peer.ts",
    "serve",
    "--share",
    share.path,
    "--port",
    "0",
    "--tracker",
    tracker.address,
  ], { XDG_CONFIG_HOME: config.path, P2PFS_PASSWORD: "" });
  await serve.waitForLine(/^peer dan serving 1 files on /);
  const peer = as(config.path, tracker.address);
  const listed = await peer(["list", "--json"]);
  assert.deepEqual(listed.json<ListedFile[]>().map((f) => f.name), ["a.txt"]);

  const logout = await peer(["logout"]);
  assert.equal(logout.code, 0, logout.stderr);
  const status = await serve.wait(TIMEOUT_MS);
  assert.equal(status.code, 1);
  const errors = serve.stderr.split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(errors.length, 1, serve.stderr);
  assert.match(
    errors[0]!,
    /Cannot serve as dan any longer: .*sign in again with 'p2pfs-peer login'/,
  );
});
