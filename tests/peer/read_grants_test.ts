import assert from "node:assert/strict";
import {
  ConnectionTickets,
  DownloaderKey,
  MemberCap,
  pinTrackerKey,
  UnticketedCap,
  versionOf,
} from "../../lib/peer/mod.ts";
import type { IndexedFile } from "../../lib/peer/mod.ts";
import {
  manifestId,
  MAX_TICKETS_PER_CONNECTION,
  newSigningKeys,
  signTicket,
  TicketError,
} from "../../lib/protocol/mod.ts";

const tracker = await newSigningKeys();

async function ticketFor(version: string, key: DownloaderKey): Promise<string> {
  return await signTicket(
    { user: "ann", version, key: key.publicKey, expiresAt: Date.now() + 60_000 },
    tracker.privateKey,
  );
}

function version(n: number): string {
  return n.toString(16).padStart(64, "0");
}

Deno.test("ConnectionTickets opens exactly the versions of the tickets proven on it", async () => {
  const key = await DownloaderKey.generate();
  const tickets = new ConnectionTickets();
  assert.equal(tickets.any, false);
  const ticket = await ticketFor(version(1), key);
  const proof = await key.prove(ticket, tickets.challenge);
  await tickets.show(ticket, proof, tracker.publicKey);
  assert.ok(tickets.any);
  assert.ok(tickets.allows(version(1)));
  assert.ok(!tickets.allows(version(2)));
});

Deno.test("ConnectionTickets refuses a proof made for another connection's challenge", async () => {
  const key = await DownloaderKey.generate();
  const first = new ConnectionTickets();
  const second = new ConnectionTickets();
  const ticket = await ticketFor(version(1), key);
  const proof = await key.prove(ticket, first.challenge);
  await assert.rejects(second.show(ticket, proof, tracker.publicKey), TicketError);
  assert.equal(second.any, false);
});

Deno.test("ConnectionTickets keeps at most MAX_TICKETS_PER_CONNECTION versions, forgetting the oldest", async () => {
  const key = await DownloaderKey.generate();
  const tickets = new ConnectionTickets();
  for (let i = 0; i <= MAX_TICKETS_PER_CONNECTION; i++) {
    const ticket = await ticketFor(version(i), key);
    await tickets.show(ticket, await key.prove(ticket, tickets.challenge), tracker.publicKey);
  }
  assert.ok(!tickets.allows(version(0)));
  assert.ok(tickets.allows(version(1)));
  assert.ok(tickets.allows(version(MAX_TICKETS_PER_CONNECTION)));
});

Deno.test("versionOf() is the manifest id of an index entry", () => {
  const entry = {
    name: "a.txt",
    path: "/x/a.txt",
    size: 3,
    chunkSize: 65536,
    sha256: "a".repeat(64),
    chunkHashes: ["a".repeat(64)],
    mtimeMs: 0,
  } as unknown as IndexedFile;
  assert.equal(versionOf(entry), manifestId(entry));
  assert.equal(versionOf(entry), versionOf(entry));
});

Deno.test("UnticketedCap admits up to its cap and admits again after one leaves", () => {
  const cap = new UnticketedCap(2);
  assert.ok(cap.enter());
  assert.ok(cap.enter());
  assert.ok(!cap.enter());
  assert.equal(cap.count, 2);
  cap.leave();
  assert.ok(cap.enter());
});

Deno.test("UnticketedCap admits at most its per-address cap from one address", () => {
  const cap = new UnticketedCap(64, 8);
  for (let i = 0; i < 8; i++) assert.ok(cap.enter("192.0.2.7"));
  assert.ok(!cap.enter("192.0.2.7"));
  assert.ok(cap.enter("192.0.2.8"), "another address still gets the full window");
  cap.leave("192.0.2.7");
  assert.ok(cap.enter("192.0.2.7"));
});

Deno.test("MemberCap admits at most its cap of one member's connections", () => {
  const cap = new MemberCap(2);
  assert.ok(cap.enter("mallory") && cap.enter("mallory"));
  assert.ok(!cap.enter("mallory"));
  assert.ok(cap.enter("bob"));
  cap.leave("mallory");
  assert.ok(cap.enter("mallory"));
});

Deno.test("pinTrackerKey() keeps the first key per tracker address and refuses another", () => {
  pinTrackerKey("pin-test:1", "A".repeat(43));
  pinTrackerKey("pin-test:2", "B".repeat(43));
  pinTrackerKey("pin-test:1", "A".repeat(43));
  assert.throws(
    () => pinTrackerKey("pin-test:1", "B".repeat(43)),
    (error: unknown) =>
      error instanceof Error && (error as { code?: string }).code === "TRACKER_KEY_CHANGED" &&
      /ticket key changed/.test(error.message),
  );
});
