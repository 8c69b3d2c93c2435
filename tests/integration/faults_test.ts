/**
 * Faults, provoked for real: a tracker killed with SIGKILL under load keeps what it acknowledged,
 * one name registered concurrently has one owner, peers ride out a tracker outage, and a download
 * whose disk fills up keeps its verified chunks (each recorded in its state file) and resumes once
 * space is freed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeBitmap, DEFAULT_CHUNK_SIZE, PeerClient, TrackerClient } from "../../lib/peer/mod.ts";
import {
  type GetJson,
  makeTempDir,
  MiB,
  PASSWORD,
  pathExists,
  pollUntil,
  randomBytes,
  registerUsers,
  runAs,
  sameBytes,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

Deno.test("faults: a tracker killed with SIGKILL under load keeps every account it acknowledged", async () => {
  await using kv = await makeTempDir();
  const kvPath = join(kv.path, "t.kv");
  const first = await startTracker({ kvPath });
  const address = { hostname: "127.0.0.1", port: first.port };
  const acknowledged: string[] = [];
  let killed = false;
  try {
    // Eight clients register users as fast as they can; the tracker dies mid-way.
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 1000 && !killed; i++) {
        try {
          await using client = await TrackerClient.connect(address, { timeoutMs: 5_000 });
          const name = `load${w}x${i}`;
          await client.register(name, PASSWORD);
          acknowledged.push(name);
        } catch {
          if (killed) return;
        }
        if (acknowledged.length >= 40 && !killed) {
          killed = true;
          await first.process.kill9();
        }
      }
    });
    await Promise.all(workers);
  } finally {
    await first.process[Symbol.asyncDispose]();
  }
  assert.ok(acknowledged.length >= 40, `only ${acknowledged.length} registrations acknowledged`);

  await using second = await startTracker({ kvPath });
  await using client = await TrackerClient.connect({ hostname: "127.0.0.1", port: second.port });
  for (const name of acknowledged) {
    const session = await client.login(name, PASSWORD);
    assert.equal(session.user, name);
  }
});

Deno.test("faults: of ten concurrent registrations of one name exactly one wins", async () => {
  await using tracker = await startTracker();
  const address = { hostname: "127.0.0.1", port: tracker.port };
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, async (_, i) => {
      await using client = await TrackerClient.connect(address);
      await client.register("contested", `password-${i}`);
      return i;
    }),
  );
  const winners = results.filter((r) => r.status === "fulfilled");
  assert.equal(winners.length, 1);
  const winner = (winners[0] as PromiseFulfilledResult<number>).value;
  await using client = await TrackerClient.connect(address);
  await client.login("contested", `password-${winner}`);
});

Deno.test("faults: a peer keeps serving through a tracker outage and re-announces when it is back", async () => {
  await using kv = await makeTempDir();
  await using share = await makeTempDir();
  const kvPath = join(kv.path, "t.kv");
  const first = await startTracker({ kvPath, heartbeatMs: 300 });
  const address = `127.0.0.1:${first.port}`;
  try {
    await registerUsers(address, ["steady", "asker"]);
    await writeFile(share.path, "kept.txt", new TextEncoder().encode("still here"));
    await using peer = await startPeer("steady", share.path, address);

    await first.process.kill9();
    // The tracker is gone; the peer still answers other peers directly.
    using direct = await PeerClient.connect(peer.host, peer.port);
    assert.equal(direct.user, "steady");
    const rtt = await direct.ping(); // throws if it does not answer
    assert.ok(Number.isFinite(rtt) && rtt >= 0, `round trip ${rtt} ms`);

    // Back on the same port and KV file: the peer logs in again and re-announces by itself.
    await using _second = await startTracker({ kvPath, port: first.port, heartbeatMs: 300 });
    const listed = await pollUntil("the peer to be listed as a source again", async () => {
      const run = await runAs("asker", address, ["list", "--json"]);
      if (run.code !== 0) return undefined;
      const files = run.json<Array<{ name: string; sources: number }>>();
      return files.find((f) => f.name === "kept.txt" && f.sources === 1);
    });
    assert.equal(listed.name, "kept.txt");
    await pollUntil(
      "the peer to say it reconnected",
      () =>
        Promise.resolve(/reconnected to the tracker/.test(peer.process.stderr) ? true : undefined),
    );
  } finally {
    await first.process[Symbol.asyncDispose]();
  }
});

Deno.test("faults: a download that fills the disk stops clearly, records every verified chunk of its .part, and resumes", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using mountPoint = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  const original = randomBytes(6 * MiB);
  await writeFile(share.path, "big.bin", original);
  await using _peer = await startPeer("src", share.path, tracker.address);

  // A small file system of its own: 8 MiB, 5 of them taken by a filler file.
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint.path],
    stderr: "piped",
  }).output();
  assert.ok(
    mount.success,
    `this test mounts a small tmpfs and needs root: ${new TextDecoder().decode(mount.stderr)}`,
  );
  try {
    const out = join(mountPoint.path, "out");
    const filler = join(mountPoint.path, "filler");
    await Deno.writeFile(filler, new Uint8Array(5 * MiB));

    const full = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out]);
    assert.notEqual(full.code, 0);
    assert.match(
      full.stderr,
      /error: Cannot save big\.bin: the disk is full; verified chunks are kept/,
    );
    assert.equal(await pathExists(join(out, "big.bin")), false);
    assert.ok(await pathExists(join(out, "big.bin.part")));
    // Every chunk that is in the .part and verifies is recorded in the state file, and the
    // temporary state file is gone.
    const names = (await Array.fromAsync(Deno.readDir(out), (e) => e.name)).sort();
    assert.deepEqual(names, ["big.bin.part", "big.bin.part.json"]);
    const state = JSON.parse(await Deno.readTextFile(join(out, "big.bin.part.json")));
    const chunks = Math.ceil(original.length / DEFAULT_CHUNK_SIZE);
    const recorded = decodeBitmap(state.verified, chunks);
    const part = await Deno.readFile(join(out, "big.bin.part"));
    const onDisk = Array.from({ length: chunks }, (_, i) => i).filter((i) => {
      const range = [
        i * DEFAULT_CHUNK_SIZE,
        Math.min((i + 1) * DEFAULT_CHUNK_SIZE, original.length),
      ];
      return sameBytes(part.subarray(...range), original.subarray(...range));
    });
    assert.ok(onDisk.length > 0, "no chunk was written before the disk filled up");
    assert.deepEqual(recorded, onDisk);

    await Deno.remove(filler);
    const again = await runAs("dl", tracker.address, ["get", "big.bin", "--out", out, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    const result = again.json<GetJson>();
    assert.ok(result.reusedBytes > 0, `nothing was kept: ${JSON.stringify(result)}`);
    assert.equal(result.reusedBytes + result.fetchedBytes, original.length);
    assert.ok(sameBytes(await Deno.readFile(join(out, "big.bin")), original));
  } finally {
    await new Deno.Command("umount", { args: ["-l", mountPoint.path] }).output();
  }
});
