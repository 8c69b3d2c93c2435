/**
 * Replies that would outgrow a frame come in pages: `list --all` of 10,000 files through the real
 * command line, against a real tracker (one reply held about 8,500 before paging).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseAddress, TrackerClient } from "../../lib/peer/mod.ts";
import type { FileManifest } from "../../lib/protocol/mod.ts";
import { type ListedFile, PASSWORD, registerUsers, runJson, startTracker } from "./_harness.ts";

Deno.test("paging: list --all of 10,000 files with long names lists every one", async () => {
  await using tracker = await startTracker();
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using client = await TrackerClient.connect(parseAddress(tracker.address));
  const session = await client.login("ann", PASSWORD);
  const padding = "long-folder-name/".repeat(5);
  const files: FileManifest[] = Array.from({ length: 10_000 }, (_, i) => {
    const name = `${padding}file${String(i).padStart(5, "0")}.bin`;
    const hash = createHash("sha256").update(name).digest("hex");
    return { name, size: 100, chunkSize: 65536, sha256: hash, chunkHashes: [hash] };
  });
  await client.announce(session.token, { host: "127.0.0.1", port: 9 }, files);
  const listed = await runJson<ListedFile[]>("bob", tracker.address, ["list", "--all"]);
  assert.equal(listed.length, 10_000);
  assert.deepEqual(listed.map((f) => f.name), files.map((f) => f.name));
});
