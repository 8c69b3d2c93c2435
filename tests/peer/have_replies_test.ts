import assert from "node:assert/strict";
import {
  ConnectionTickets,
  HaveReplies,
  type IndexedFile,
  SeedLedger,
  type ShareView,
  type SwarmFile,
  versionOf,
} from "../../lib/peer/mod.ts";
import { decodeHaveMap } from "../../lib/protocol/mod.ts";
import { ticketsFor } from "./_tickets.ts";

/** An indexed file of four 10-byte chunks (its bytes are never read here). */
const entry: IndexedFile = {
  name: "a.bin",
  path: "/nowhere/a.bin",
  mtimeMs: 0,
  size: 40,
  chunkSize: 10,
  sha256: "a".repeat(64),
  chunkHashes: ["1", "2", "3", "4"].map((c) => c.repeat(64)),
};
const share: ShareView = {
  user: "seeder",
  root: "/nowhere",
  lookup: (n) => n === "a.bin" ? entry : undefined,
};
const id = versionOf(entry);

function bits(reply: unknown): number[] {
  const r = reply as { bits: string };
  return [...decodeHaveMap(r.bits, 4)];
}

Deno.test("HaveReplies.answer() offers a complete file whole without a ledger, and only under a ticket", async () => {
  const haves = new HaveReplies(share, await ticketsFor(id));
  const reply = await haves.answer({ name: "a.bin", id });
  assert.equal((reply as { complete?: boolean }).complete, true);
  assert.deepEqual(bits(reply), [1, 1, 1, 1]);
  const unticketed = new HaveReplies(share, new ConnectionTickets());
  await assert.rejects(
    unticketed.answer({ name: "a.bin", id }),
    (e) => (e as { code?: string }).code === "FORBIDDEN",
  );
  const other = "b".repeat(64);
  await assert.rejects(
    new HaveReplies(share, await ticketsFor(other)).answer({ name: "a.bin", id: other }),
    (e) => (e as { code?: string }).code === "GONE",
  );
});

Deno.test("HaveReplies.noteSent() feeds super-seeding: what one connection was sent is offered to the next last", async () => {
  const ledger = new SeedLedger();
  const source = { id, chunkSize: 10, size: 40, readAt: () => null };
  const first = new HaveReplies(share, await ticketsFor(id), ledger);
  assert.deepEqual(bits(await first.answer({ name: "a.bin", id })), [1, 1, 1, 1]);
  first.noteSent(source, { offset: 0, length: 20 }); // chunks 0 and 1
  // On the same connection the chunks sent there are not offered again.
  assert.deepEqual(bits(await first.answer({ name: "a.bin", id })), [0, 0, 1, 1]);
  // Another connection is offered the least-sent chunks first.
  const second = new HaveReplies(share, await ticketsFor(id), ledger);
  assert.deepEqual(bits(await second.answer({ name: "a.bin", id })), [0, 0, 1, 1]);
});

Deno.test("HaveReplies.answer() offers a partial file's verified chunks", async () => {
  const partial: SwarmFile = {
    name: "p.bin",
    id: "c".repeat(64),
    sha256: "d".repeat(64),
    size: 40,
    chunkSize: 10,
    have: Uint8Array.from([1, 0, 1, 0]),
    readAt: () => null,
  };
  const haves = new HaveReplies(
    { ...share, partial: (n) => n === "p.bin" ? partial : undefined },
    await ticketsFor(partial.id),
  );
  const reply = await haves.answer({ name: "p.bin", id: partial.id });
  assert.deepEqual(bits(reply), [1, 0, 1, 0]);
  assert.equal((reply as { complete?: boolean }).complete, false);
});
