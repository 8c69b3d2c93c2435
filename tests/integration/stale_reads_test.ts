/**
 * A shared file that changes under its readers, against real processes: a tracker and a serving
 * peer on loopback with real files. The peer answers `STALE` for the version a reader asked for
 * once the file was rewritten (other bytes of the same size, or another size) and sends none of
 * the new bytes; a real download from it blames the source and saves no wrong byte.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeBitmap,
  downloadFile,
  parseAddress,
  PeerError,
  processDownloaderKey,
  readPartState,
  type SourceReport,
  TrackerClient,
} from "../../lib/peer/mod.ts";
import {
  Channel,
  dataReply,
  type FileDetails,
  helloReply,
  type Message,
  PROTOCOL_VERSION,
} from "../../lib/protocol/mod.ts";
import {
  makeTempDir,
  MiB,
  PASSWORD,
  pathExists,
  randomBytes,
  registerUsers,
  sameBytes,
  startPeer,
  startTracker,
  withTimeout,
  writeFile,
} from "./_harness.ts";

/** A connection to the serving peer that has shown `details`' ticket, speaking by hand. */
async function ticketedConnection(port: number, details: FileDetails): Promise<Channel> {
  const channel = new Channel(await Deno.connect({ hostname: "127.0.0.1", port }));
  const hello = await withTimeout(
    channel.request({ type: "hello", version: PROTOCOL_VERSION }, helloReply),
    10_000,
    "the peer's hello",
  );
  const proof = await (await processDownloaderKey()).prove(details.ticket!, hello.challenge!);
  await channel.send({ type: "ticket", ticket: details.ticket!, proof });
  assert.deepEqual(await next(channel), { type: "ok" });
  return channel;
}

async function next(channel: Channel): Promise<Message | null> {
  return await withTimeout(channel.receive(), 10_000, "a reply from the peer");
}

/** Rewrites `path` with `bytes` and moves its mtime well away from the indexed one. */
function rewrite(path: string, bytes: Uint8Array): void {
  Deno.writeFileSync(path, bytes);
  const later = new Date(Date.now() + 60_000);
  Deno.utimeSync(path, later, later);
}

Deno.test("stale reads: a file rewritten under a reader is answered STALE for its old version, with no bytes", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await registerUsers(tracker.address, ["seeder", "alice"]);
  const size = 2 * MiB + 5;
  const cases = [
    { name: "same-size.bin", changed: randomBytes(size), what: "other bytes of the same size" },
    { name: "grown.bin", changed: randomBytes(size + 1000), what: "a longer file" },
    { name: "shrunk.bin", changed: randomBytes(100), what: "a shorter file" },
  ];
  const original = new Map<string, Uint8Array>();
  for (const c of cases) {
    original.set(c.name, await writeFile(share.path, c.name, randomBytes(size)));
  }
  await using seeder = await startPeer("seeder", share.path, tracker.address);
  await using alice = await TrackerClient.connect(parseAddress(tracker.address));
  const token = (await alice.login("alice", PASSWORD)).token;

  for (const c of cases) {
    await t.step(`${c.what}: the old version is refused with STALE`, async () => {
      const details = await alice.details(token, c.name);
      const channel = await ticketedConnection(seeder.port, details);
      try {
        const file = { name: c.name, sha256: details.sha256 };
        // Before the change the version is served.
        await channel.send({ type: "read", ...file, offset: 0, length: 1000 });
        const header = await next(channel);
        dataReply(header, "data");
        const head = new Uint8Array(1000);
        await withTimeout(channel.reader.readExact(head), 10_000, "the file bytes");
        assert.ok(sameBytes(head, original.get(c.name)!.subarray(0, 1000)));

        rewrite(join(share.path, c.name), c.changed);
        await channel.send({ type: "read", ...file, offset: 0, length: 100 });
        const refused = await next(channel);
        assert.equal(refused?.type, "error", JSON.stringify(refused));
        assert.equal(refused?.code, "STALE", JSON.stringify(refused));
        // No bytes of the new content came: the very next frame answers a ping.
        await channel.send({ type: "ping", nonce: 99 });
        assert.deepEqual(await next(channel), { type: "pong", nonce: 99 });
      } finally {
        channel.close();
      }
    });
  }
});

Deno.test("stale reads: a download from a source whose file changes midway blames it and saves no wrong bytes", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["seeder", "alice"]);
  const chunks = 9;
  const old = await writeFile(share.path, "moving.bin", randomBytes(chunks * MiB - 7));
  await using _seeder = await startPeer("seeder", share.path, tracker.address);
  await using alice = await TrackerClient.connect(parseAddress(tracker.address));
  const token = (await alice.login("alice", PASSWORD)).token;
  const details = await alice.details(token, "moving.bin");
  assert.equal(details.chunkHashes.length, chunks);

  let changed = false;
  const reports: SourceReport[] = [];
  await assert.rejects(
    downloadFile(details, {
      outDir: out.path,
      self: "alice",
      maxSources: 1,
      pipelineDepth: 1,
      onProgress: (p) => {
        // The seeder's file changes once the first chunk has arrived.
        if (p.phase === "fetch" && p.doneBytes > 0 && !changed) {
          changed = true;
          rewrite(join(share.path, "moving.bin"), randomBytes(old.length));
        }
      },
      onReport: (report) => Promise.resolve(void reports.push(report)),
    }),
    (error) => error instanceof PeerError && error.code === "NO_SOURCE",
  );
  assert.ok(changed, "the file changed during the download");
  assert.deepEqual(reports, [{
    source: "seeder",
    ok: false,
    bytes: reports[0]?.bytes,
    reason: "stale",
  }]);
  assert.equal(await pathExists(join(out.path, "moving.bin")), false, "nothing was saved");
  // Every chunk recorded as verified holds the old version's bytes; some were never fetched.
  const partPath = join(out.path, "moving.bin.part");
  const state = readPartState(partPath);
  assert.ok(state, "the verified chunks are kept for a later run");
  const verified = decodeBitmap(state.verified, chunks);
  assert.ok(verified.length >= 1 && verified.length < chunks, `verified ${verified}`);
  const part = await Deno.readFile(partPath);
  for (const i of verified) {
    const range = [i * MiB, Math.min(old.length, (i + 1) * MiB)] as const;
    assert.ok(
      sameBytes(part.subarray(...range), old.subarray(...range)),
      `chunk ${i} is the old one`,
    );
  }
});
