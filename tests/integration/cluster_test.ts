/**
 * Several trackers over one KV file: two on two ports, one killed with SIGKILL while peers use
 * both, two workers on one port, and a restart. What one tracker is told, the tests wait to see
 * on the other; how soon depends on the machine's load, so it is not asserted here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAddress, TrackerClient } from "../../lib/peer/mod.ts";
import { type FileManifest, RemoteError } from "../../lib/protocol/mod.ts";
import {
  loggedIn,
  makeTempDir,
  PASSWORD,
  pollUntil,
  randomBytes,
  registerUsers,
  runAs,
  sameBytes,
  Spawned,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

/**
 * Longest the tests wait for a logout or an announce on one tracker to show on the others: they
 * wait for it to show, however long that takes on a loaded machine (the bound only keeps a hang
 * from blocking the suite).
 */
const SEEN_WITHIN_MS = 20_000;

function code(error: unknown): string | undefined {
  return error instanceof RemoteError ? error.code : undefined;
}

Deno.test("two trackers on one KV file share accounts, the file index, tickets, logouts and login back-off", async () => {
  await using kv = await makeTempDir("p2pfs-it-cluster-");
  const kvPath = join(kv.path, "tracker.kv");
  await using one = await startTracker({ kvPath, heartbeatMs: 1_000 });
  await using two = await startTracker({ kvPath, heartbeatMs: 1_000 });

  // Registered on one, logged in on the other.
  await registerUsers(one.address, ["ann", "bob", "carol"]);
  await using bobOnTwo = await loggedIn(two.address, "bob");

  // Announced through two (ann's peer logs in there), shows in details on one.
  await using share = await makeTempDir();
  const bytes = await writeFile(share.path, "a.bin", randomBytes(300_000));
  await using ann = await startPeer("ann", share.path, two.address);
  await using bobOnOne = await loggedIn(one.address, "bob");
  const details = await pollUntil(
    "the announce through one tracker in details on the other",
    async () => {
      try {
        const found = await bobOnOne.client.details(bobOnOne.token, "a.bin");
        return found.peers.some((p) => p.user === "ann" && p.online) ? found : undefined;
      } catch (error) {
        if (code(error) === "NOT_FOUND") return undefined;
        throw error;
      }
    },
    { timeoutMs: SEEN_WITHIN_MS, intervalMs: 25 },
  );
  assert.equal(details.size, bytes.length);

  // A ticket from one is honoured by ann's peer, which logged in on two.
  await using out = await makeTempDir();
  const get = await runAs("carol", one.address, ["get", "a.bin", "--out", out.path, "--json"]);
  assert.equal(get.code, 0, get.stderr);
  assert.ok(sameBytes(await Deno.readFile(join(out.path, "a.bin")), bytes));

  // A logout on one stops the token on two (which has it cached by now).
  const bobSession = await bobOnOne.client.login("bob", PASSWORD);
  await bobOnTwo.client.whoami(bobSession.token);
  await bobOnOne.client.logout(bobSession.token);
  await pollUntil(
    "the token logged out on one to be refused on the other",
    async () => {
      try {
        await bobOnTwo.client.whoami(bobSession.token);
        return undefined;
      } catch (error) {
        return code(error) === "BAD_TOKEN" ? true : undefined;
      }
    },
    { timeoutMs: SEEN_WITHIN_MS, intervalMs: 25 },
  );

  // Wrong passwords for one name from one address count together on both trackers: five are
  // free, the sixth starts the back-off, wherever the next guess goes.
  const guess = async (address: string) => {
    await using client = await TrackerClient.connect(parseAddress(address));
    try {
      await client.login("carol", "wrong-password");
      return "ok";
    } catch (error) {
      return code(error) ?? String(error);
    }
  };
  const outcomes = [];
  for (let i = 0; i < 6; i++) outcomes.push(await guess(i % 2 === 0 ? one.address : two.address));
  assert.deepEqual(outcomes, Array(6).fill("AUTH_FAILED"));
  assert.equal(await guess(one.address), "RATE_LIMITED");
  assert.equal(await guess(two.address), "RATE_LIMITED");
  await ann.stop();
});

Deno.test("kill -9 of one of two trackers: peers move to the other, a download in progress completes, nothing acknowledged is lost", async () => {
  await using kv = await makeTempDir("p2pfs-it-cluster-");
  const kvPath = join(kv.path, "tracker.kv");
  await using one = await startTracker({ kvPath, heartbeatMs: 300 });
  await using two = await startTracker({ kvPath, heartbeatMs: 300 });
  const both = `${one.address},${two.address}`;
  await registerUsers(one.address, ["ann", "bob", "carol"]);
  // Acknowledged by the tracker about to die: an account and an announce.
  await registerUsers(one.address, ["dan"]);

  await using share = await makeTempDir();
  const bytes = await writeFile(share.path, "big.bin", randomBytes(3 * 1024 * 1024));
  // ann uses one first, bob two first; both know both.
  await using ann = await startPeer("ann", share.path, both);
  await using bob = await startPeer("bob", share.path, `${two.address},${one.address}`);

  // carol's download goes through one and is slowed so the kill falls in the middle of it.
  await using out = await makeTempDir();
  await using get = new Spawned("get carol", [
    "peer.ts",
    "get",
    "big.bin",
    "--out",
    out.path,
    "--max-rate",
    "1MB/s",
    "--quiet",
    "--tracker",
    both,
    "--user",
    "carol",
  ], { P2PFS_PASSWORD: PASSWORD });
  await pollUntil("carol's download to start", async () => {
    try {
      return (await Deno.stat(join(out.path, "big.bin.part"))).size > 0 ? true : undefined;
    } catch {
      return undefined;
    }
  }, { intervalMs: 50 });
  await one.kill9();

  // ann moves to two: logs in there and announces again.
  await pollUntil(
    "ann to log in on the other tracker",
    () => Promise.resolve(/reconnected to the tracker/.test(ann.process.stderr) || undefined),
  );
  await using danOnTwo = await loggedIn(two.address, "dan");
  await pollUntil("ann online on the other tracker", async () => {
    const found = await danOnTwo.client.details(danOnTwo.token, "big.bin");
    return found.peers.some((p) => p.user === "ann" && p.online) || undefined;
  });

  // The download completes.
  const status = await get.wait();
  assert.equal(status.code, 0, get.stderr);
  assert.ok(sameBytes(await Deno.readFile(join(out.path, "big.bin")), bytes));
  await ann.stop();
  await bob.stop();
});

Deno.test("--workers 2 on one port: both workers answer, and say which they are in hello", async () => {
  await using tracker = await startTracker({ args: ["--workers", "2"] });
  assert.match(tracker.process.lines.join("\n"), /\(2 workers\)/);
  await registerUsers(tracker.address, ["ann"]);
  const workers = await pollUntil("replies from both workers", async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      await using client = await TrackerClient.connect(parseAddress(tracker.address));
      // Every worker serves the same accounts.
      const session = await client.login("ann", PASSWORD);
      await client.logout(session.token);
      if (client.worker !== undefined) seen.add(client.worker);
    }
    return seen.size === 2 ? [...seen].sort() : undefined;
  });
  assert.deepEqual(workers, [1, 2]);
});

Deno.test("the file index after a tracker restart equals the index before it", async () => {
  await using kv = await makeTempDir("p2pfs-it-cluster-");
  const kvPath = join(kv.path, "tracker.kv");
  const users = ["ann", "bob", "cy"];
  const manifest = (name: string, fill: string): FileManifest => ({
    name,
    size: 100,
    chunkSize: 1 << 20,
    sha256: fill.repeat(64),
    chunkHashes: [fill.repeat(64)],
  });
  const listing = async (address: string) => {
    await using reader = await loggedIn(address, "ann");
    const files = await reader.client.list(reader.token, { all: true });
    const details = await Promise.all(
      [...new Set(files.map((f) => f.name))].map(async (name) => {
        const d = await reader.client.details(reader.token, name);
        return { name, versions: d.versions.map((v) => [v.id, v.holders]) };
      }),
    );
    return { files: files.map((f) => [f.name, f.id, f.size]), details };
  };
  let before;
  {
    await using tracker = await startTracker({ kvPath });
    await registerUsers(tracker.address, users);
    for (const [i, user] of users.entries()) {
      await using session = await loggedIn(tracker.address, user);
      const files = ["a.txt", "b.txt", `${user}.txt`].map((n) => manifest(n, "abc"[i]!));
      await session.client.announce(session.token, { host: "127.0.0.1", port: 9000 + i }, files);
      // bob announces again without b.txt (an announce replaces the list): b.txt goes.
      if (user === "bob") {
        await session.client.announce(
          session.token,
          { host: "127.0.0.1", port: 9000 + i },
          files.filter((f) => f.name !== "b.txt"),
        );
      }
    }
    before = await listing(tracker.address);
    await tracker.stop();
  }
  await using again = await startTracker({ kvPath });
  assert.deepEqual(await listing(again.address), before);
  assert.equal(before.files.length, 8); // a.txt in 3 versions, b.txt in 2, one own file each
});
