/**
 * Content-addressed versions end to end: accounts that announce someone else's file name and
 * whole-file hash with other chunking, another size, or a bogus manifest (withdrawn before the real
 * holder shares) cannot hide, replace or blame the real copy; manifests that do not add up are
 * refused.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { indexShare, parseAddress, startPeerServer, TrackerClient } from "../../lib/peer/mod.ts";
import {
  type FileManifest,
  importPublicKey,
  manifestId,
  RemoteError,
} from "../../lib/protocol/mod.ts";
import {
  type DetailsJson,
  type GetJson,
  makeTempDir,
  MiB,
  PASSWORD,
  randomBytes,
  registerUsers,
  runAs,
  runJson,
  sameBytes,
  sha256Hex,
  startPeer,
  startTracker,
  versionId,
  writeFile,
} from "./_harness.ts";

function fakeHashes(count: number, seed: string): string[] {
  return Array.from(
    { length: count },
    (_, i) => createHash("sha256").update(`${seed} ${i}`).digest("hex"),
  );
}

Deno.test("versions: forged manifests under alice's name and hash neither hide, replace nor blame her copy", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["alice", "aaa", "aab", "bob"]);
  const content = await writeFile(share.path, "report.bin", randomBytes(3 * MiB + 5));
  const sha256 = sha256Hex(content);
  const real = versionId(content);

  await using aaa = await TrackerClient.connect(parseAddress(tracker.address));
  const aaaSession = await aaa.login("aaa", PASSWORD);
  const forge = (change: Partial<FileManifest>): FileManifest => {
    const size = change.size ?? content.length;
    const chunkSize = change.chunkSize ?? MiB;
    return {
      name: "report.bin",
      size,
      chunkSize,
      sha256,
      chunkHashes: fakeHashes(Math.ceil(size / chunkSize), JSON.stringify(change)),
    };
  };
  // A bogus manifest announced and withdrawn before alice shares.
  const listen = { host: "127.0.0.1", port: 9 };
  await aaa.announce(aaaSession.token, listen, [forge({})]);
  await aaa.announce(aaaSession.token, listen, []);
  // Manifests that do not add up are refused outright.
  for (
    const bad of [{ ...forge({ size: 64 * MiB }), chunkHashes: [] }, forge({ chunkSize: 1000 })]
  ) {
    await assert.rejects(
      aaa.announce(aaaSession.token, listen, [bad]),
      (error) => error instanceof RemoteError && error.code === "INVALID",
    );
  }

  await using alice = await startPeer("alice", share.path, tracker.address);
  // Then alice's hash with a 2 MiB chunk size, and with another size, from two accounts.
  await aaa.announce(aaaSession.token, listen, [forge({ chunkSize: 2 * MiB })]);
  await using aab = await TrackerClient.connect(parseAddress(tracker.address));
  const aabSession = await aab.login("aab", PASSWORD);
  await aab.announce(aabSession.token, listen, [forge({ size: content.length + 1 })]);

  const details = await runJson<DetailsJson>("bob", tracker.address, [
    "details",
    "report.bin",
    "--version",
    real.slice(0, 10),
  ]);
  assert.equal(details.id, real);
  assert.equal(details.chunkSize, MiB);
  assert.equal(details.size, content.length);
  assert.deepEqual(details.peers.map((p) => p.user), ["alice"]);
  assert.equal(details.versions.length, 3);

  // bob picks alice's version by a prefix of its id, and gets her bytes.
  const first = await runAs("bob", tracker.address, [
    "get",
    "report.bin",
    "--version",
    real.slice(0, 10),
    "--out",
    out.path,
    "--json",
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.json<GetJson>().sha256, sha256);
  assert.ok(sameBytes(await Deno.readFile(`${out.path}/report.bin`), content));

  // Now the version with a download is the default; get says there are several.
  const second = await runAs("bob", tracker.address, [
    "get",
    "report.bin",
    "--out",
    out.path,
    "--force",
    "--json",
  ]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /report\.bin has 3 versions; using [0-9a-f]{12}/);
  assert.ok(sameBytes(await Deno.readFile(`${out.path}/report.bin`), content));

  const after = await runJson<DetailsJson>("bob", tracker.address, ["details", "report.bin"]);
  assert.equal(after.id, real);
  assert.deepEqual(
    after.peers.map(({ user, failures }) => ({ user, failures })),
    [{ user: "alice", failures: 0 }],
  );
  await alice.stop();
});

Deno.test("versions: a version whose whole-file hash is false fails at the end and is reported against the holder that served it", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["mallory", "bob"]);
  await writeFile(share.path, "claim.bin", randomBytes(2 * MiB + 7));
  // mallory serves the real bytes, chunk for chunk, but claims another whole-file SHA-256.
  const index = await indexShare(share.path);
  const real = index.get("claim.bin")!;
  const lie = { ...real, sha256: "0".repeat(64) };
  await using client = await TrackerClient.connect(parseAddress(tracker.address));
  const session = await client.login("mallory", PASSWORD);
  const trackerKey = await importPublicKey(session.trackerKey);
  await using server = startPeerServer({
    user: "mallory",
    root: await Deno.realPath(share.path),
    lookup: (name) => (name === "claim.bin" ? lie : undefined),
    trackerKey: () => trackerKey,
  });
  const { path: _path, mtimeMs: _mtime, ...manifest } = lie;
  await client.announce(session.token, { host: "127.0.0.1", port: server.addr.port }, [manifest]);

  const run = await runAs("bob", tracker.address, ["get", "claim.bin", "--out", out.path]);
  assert.notEqual(run.code, 0, "the whole-file check must fail");
  assert.match(run.stderr, /whole-file SHA-256 [0-9a-f]{64} does not match 0{64}/);
  const details = await runJson<DetailsJson>("bob", tracker.address, ["details", "claim.bin"]);
  assert.equal(details.id, manifestId(lie));
  assert.deepEqual(
    details.peers.map(({ user, downloads, failures }) => ({ user, downloads, failures })),
    [{ user: "mallory", downloads: 0, failures: 1 }],
  );
});
