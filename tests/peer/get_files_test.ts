/**
 * The get-many-files use case on a real tracker process and a real serving peer (loopback, port
 * 0): `filesUnder` names a folder's files, `getFiles` fetches several at once over several
 * tracker connections, and one missing file fails alone.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { filesUnder, getFiles, parseAddress, TrackerClient } from "../../lib/peer/mod.ts";
import {
  makeTempDir,
  PASSWORD,
  randomBytes,
  registerUsers,
  sameBytes,
  startPeer,
  startTracker,
  writeFile,
} from "../integration/_harness.ts";

Deno.test("getFiles() fetches every file it can and records the one that fails, without stopping", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["seed", "ann"]);
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  const bytes = { "docs/a.bin": randomBytes(70_000), "docs/b.bin": randomBytes(1_000) };
  for (const [name, data] of Object.entries(bytes)) await writeFile(share.path, name, data);
  await using _seed = await startPeer("seed", share.path, tracker.address);
  await using client = await TrackerClient.connect(parseAddress(tracker.address));
  const { token } = await client.login("ann", PASSWORD);

  const under = await filesUnder(client, token, "docs/");
  assert.deepEqual(under.toSorted(), ["docs/a.bin", "docs/b.bin"]);
  assert.deepEqual(await filesUnder(client, token, "docs"), under);
  assert.deepEqual(await filesUnder(client, token, "doc"), []);

  const opened: TrackerClient[] = [];
  const done: string[] = [];
  const failed: string[] = [];
  const outcome = await getFiles(client, token, [...under, "docs/missing.bin"], {
    outDir: out.path,
    self: "ann",
    openClient: async () => {
      const extra = await TrackerClient.connect(parseAddress(tracker.address));
      opened.push(extra);
      return extra;
    },
    onDone: (_result, name) => done.push(name),
    onFailed: (name) => failed.push(name),
  });

  assert.deepEqual(outcome.files.map((f) => f.name).toSorted(), ["docs/a.bin", "docs/b.bin"]);
  assert.deepEqual(done.toSorted(), ["docs/a.bin", "docs/b.bin"]);
  assert.deepEqual(outcome.failed.map((f) => f.name), ["docs/missing.bin"]);
  assert.deepEqual(failed, ["docs/missing.bin"]);
  for (const [name, data] of Object.entries(bytes)) {
    assert.ok(sameBytes(await Deno.readFile(join(out.path, name)), data), name);
  }
  // Three files: three more tracker connections, all closed again.
  assert.equal(opened.length, 3);
  for (const extra of opened) {
    await assert.rejects(() => extra.list(token, {}));
  }
});
