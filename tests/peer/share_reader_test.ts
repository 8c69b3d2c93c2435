import assert from "node:assert/strict";
import {
  ConnectionTickets,
  indexShare,
  ShareReader,
  type ShareView,
  versionOf,
} from "../../lib/peer/mod.ts";
import { ticketsFor } from "./_tickets.ts";

/** A shared folder holding `a.bin`, indexed, and the share view over it. */
async function sharedFolder(bytes: Uint8Array) {
  const root = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeFile(`${root}/a.bin`, bytes);
  const index = await indexShare(root);
  const stale: string[] = [];
  const share: ShareView = {
    user: "seeder",
    root,
    lookup: (name) => index.get(name),
    onStale: (name) => stale.push(name),
  };
  return { root, entry: index.get("a.bin")!, share, stale };
}

function readAll(reader: ShareReader, tickets: ConnectionTickets, sha256: string, length: number) {
  const source = reader.source({ name: "a.bin", sha256, offset: 0, length }, tickets);
  const buffer = new Uint8Array(length);
  assert.equal(source.readAt(buffer, 0), length);
  return buffer;
}

Deno.test("ShareReader.source() refuses with STALE a file rewritten after it was opened, and reports it", async () => {
  const { root, entry, share, stale } = await sharedFolder(new Uint8Array([1, 2, 3, 4]));
  try {
    const tickets = await ticketsFor(versionOf(entry));
    using reader = new ShareReader(share);
    assert.deepEqual([...readAll(reader, tickets, entry.sha256, 4)], [1, 2, 3, 4]);
    await Deno.writeFile(`${root}/a.bin`, new Uint8Array([9, 9, 9, 9])); // same size
    const later = new Date(entry.mtimeMs + 60_000);
    await Deno.utime(`${root}/a.bin`, later, later);
    assert.throws(
      () => readAll(reader, tickets, entry.sha256, 4),
      (e) => (e as { code?: string }).code === "STALE",
    );
    assert.deepEqual(stale, ["a.bin"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ShareReader.source() refuses a file changed before it was opened, another version, and an unshared name", async () => {
  const { root, entry, share } = await sharedFolder(new Uint8Array([1, 2, 3, 4]));
  try {
    const tickets = await ticketsFor(versionOf(entry));
    using reader = new ShareReader(share);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return "served";
    };
    assert.equal(code(() => readAll(reader, tickets, "0".repeat(64), 4)), "STALE");
    assert.equal(
      code(() =>
        reader.source({ name: "b.bin", sha256: entry.sha256, offset: 0, length: 1 }, tickets)
      ),
      "GONE",
    );
    assert.equal(
      code(() =>
        reader.source({ name: "a.bin", sha256: entry.sha256, offset: 2, length: 3 }, tickets)
      ),
      "INVALID",
    );
    assert.equal(
      code(() => readAll(reader, new ConnectionTickets(), entry.sha256, 4)),
      "FORBIDDEN",
    );
    await Deno.writeFile(`${root}/a.bin`, new Uint8Array([1, 2, 3])); // shorter, never opened yet
    assert.equal(code(() => readAll(reader, tickets, entry.sha256, 3)), "STALE");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
