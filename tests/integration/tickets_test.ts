/**
 * Read tickets against real processes: a tracker and serving peers on loopback, and raw clients
 * that send exactly the attacks a peer must refuse — a `read` with no ticket, an expired ticket, a
 * ticket for another version, one signed by another key, and one replayed by another user — each
 * answered `FORBIDDEN` with no file bytes; then a valid ticket that works, the ticket window, the
 * cap on connections without a ticket, and `get` and `ping` end to end.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DownloaderKey,
  parseAddress,
  processDownloaderKey,
  TrackerClient,
} from "../../lib/peer/mod.ts";
import {
  Channel,
  dataReply,
  type FileDetails,
  helloReply,
  manifestId,
  MAX_PEER_CONNECTIONS_PER_MEMBER,
  type Message,
  newSigningKeys,
  PROTOCOL_VERSION,
  signTicket,
  type TicketPayload,
} from "../../lib/protocol/mod.ts";
import type { TicketKeyRecord } from "../../lib/tracker/mod.ts";
import {
  type GetJson,
  makeTempDir,
  MiB,
  PASSWORD,
  type PingJson,
  pollUntil,
  randomBytes,
  registerUsers,
  runJson,
  sameBytes,
  sha256Hex,
  startPeer,
  startTracker,
  TIMEOUT_MS,
  withTimeout,
  writeFile,
} from "./_harness.ts";

/** Why a read is refused on a connection that has not had a ticket accepted. */
const NO_TICKET_YET = /^Cannot read .+: show a ticket from the tracker's details first$/;
/** Why a read is refused when the tickets shown open other versions. */
const NO_TICKET_FOR_VERSION = /^Cannot read .+: no ticket for this version was shown/;
/** Why a ticket the tracker did not sign is refused. */
const NOT_SIGNED = /^Cannot accept ticket: it is not signed by this peer's tracker$/;
/** Why a ticket shown without its holder's key is refused. */
const NOT_PROVEN =
  /^Cannot accept ticket: the proof is not signed by the key the ticket was issued to$/;

/** A raw connection to a serving peer that speaks the protocol by hand. */
class RawPeer implements Disposable {
  readonly channel: Channel;
  readonly challenge: string;

  private constructor(channel: Channel, challenge: string) {
    this.channel = channel;
    this.challenge = challenge;
  }

  static async open(port: number): Promise<RawPeer> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const channel = new Channel(conn);
    try {
      const hello = await withTimeout(
        channel.request({ type: "hello", version: PROTOCOL_VERSION }, helloReply),
        10_000,
        "the peer's hello",
      );
      assert.ok(hello.challenge, "the peer's hello carries a challenge");
      return new RawPeer(channel, hello.challenge);
    } catch (error) {
      channel.close();
      throw error;
    }
  }

  /** The next message, within a bounded wait. */
  async next(): Promise<Message | null> {
    return await withTimeout(this.channel.receive(), 10_000, "a reply from the peer");
  }

  /** Sends `ping` and returns the reply. */
  async ping(nonce: number): Promise<Message | null> {
    await this.channel.send({ type: "ping", nonce });
    return await this.next();
  }

  /** Shows `ticket` with `proof` and returns the reply. */
  async show(ticket: string, proof: string): Promise<Message | null> {
    await this.channel.send({ type: "ticket", ticket, proof });
    return await this.next();
  }

  /** Shows `ticket` proven with `key` for this connection. */
  async showWith(ticket: string, key: DownloaderKey): Promise<Message | null> {
    return await this.show(ticket, await key.prove(ticket, this.challenge));
  }

  /**
   * Asks for a whole file and asserts it is refused with `FORBIDDEN` for the reason `why` (by
   * default: no ticket was accepted on this connection) and that no file bytes came: the very
   * next frame after the refusal answers a `ping`.
   */
  async assertReadForbidden(
    file: { name: string; sha256: string; size: number },
    why: RegExp = NO_TICKET_YET,
  ): Promise<void> {
    await this.channel.send({
      type: "read",
      name: file.name,
      sha256: file.sha256,
      offset: 0,
      length: file.size,
    });
    const reply = await this.next();
    assert.equal(reply?.type, "error", `a read is refused: ${JSON.stringify(reply)}`);
    assert.equal(reply?.code, "FORBIDDEN", JSON.stringify(reply));
    assert.match(String(reply?.message), why, JSON.stringify(reply));
    await this.channel.send({ type: "ping", nonce: 4242 });
    const pong = await this.next();
    assert.deepEqual(pong, { type: "pong", nonce: 4242 }, "no file bytes came before the pong");
  }

  /** Reads `[offset, offset + length)` of a file and returns the bytes. */
  async read(
    file: { name: string; sha256: string },
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    await this.channel.send({ type: "read", name: file.name, sha256: file.sha256, offset, length });
    const header = await this.next();
    assert.equal(header?.type, "data", JSON.stringify(header));
    dataReply(header, "data");
    const bytes = new Uint8Array(length);
    await withTimeout(this.channel.reader.readExact(bytes), 10_000, "the file bytes");
    return bytes;
  }

  [Symbol.dispose](): void {
    this.channel.close();
  }
}

/** The tracker's ticket signing key, read from its KV file as a second tracker process would. */
async function trackerSigningKey(kvPath: string): Promise<CryptoKey> {
  const kv = await Deno.openKv(kvPath);
  try {
    const record = (await kv.get<TicketKeyRecord>(["ticket_keys"])).value;
    assert.ok(record, "the tracker stored its ticket keys");
    return await crypto.subtle.importKey(
      "pkcs8",
      new Uint8Array(record.privateKey),
      { name: "Ed25519" },
      false,
      ["sign"],
    );
  } finally {
    kv.close();
  }
}

function versionOf(details: FileDetails): string {
  return manifestId(details);
}

Deno.test("tickets: a peer serves read only under a valid ticket proven on the connection", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await registerUsers(tracker.address, ["seeder", "gate", "brief", "alice", "bob"]);
  const big = await writeFile(share.path, "big.bin", randomBytes(2 * MiB + 123));
  await writeFile(share.path, "other.txt", "another version of nothing in particular");
  await using seeder = await startPeer("seeder", share.path, tracker.address);

  await using alice = await TrackerClient.connect(parseAddress(tracker.address));
  const aliceToken = (await alice.login("alice", PASSWORD)).token;
  const bigDetails = await alice.details(aliceToken, "big.bin");
  const otherDetails = await alice.details(aliceToken, "other.txt");
  const bigFile = { name: "big.bin", sha256: bigDetails.sha256, size: bigDetails.size };
  assert.equal(bigFile.sha256, sha256Hex(big));
  assert.ok(bigDetails.ticket && otherDetails.ticket, "details hands out a ticket");
  const aliceKey = await processDownloaderKey();

  await t.step("a read without a ticket is refused and sends no bytes", async () => {
    using raw = await RawPeer.open(seeder.port);
    await raw.assertReadForbidden(bigFile);
    // ping needs no ticket
    await raw.channel.send({ type: "ping", nonce: 7 });
    assert.deepEqual(await raw.next(), { type: "pong", nonce: 7 });
  });

  await t.step(
    "a read of a name the peer does not share is FORBIDDEN too, not NOT_FOUND",
    async () => {
      using raw = await RawPeer.open(seeder.port);
      await raw.assertReadForbidden({ name: "secret.txt", sha256: "0".repeat(64), size: 1 });
    },
  );

  await t.step("a valid ticket opens its version on that connection", async () => {
    using raw = await RawPeer.open(seeder.port);
    assert.deepEqual(await raw.showWith(bigDetails.ticket!, aliceKey), { type: "ok" });
    const head = await raw.read(bigFile, 0, 1000);
    const tail = await raw.read(bigFile, big.length - 77, 77);
    assert.ok(sameBytes(head, big.subarray(0, 1000)));
    assert.ok(sameBytes(tail, big.subarray(big.length - 77)));
  });

  await t.step("a ticket for another version does not open this one", async () => {
    using raw = await RawPeer.open(seeder.port);
    assert.notEqual(versionOf(otherDetails), versionOf(bigDetails));
    assert.deepEqual(await raw.showWith(otherDetails.ticket!, aliceKey), { type: "ok" });
    await raw.assertReadForbidden(bigFile, NO_TICKET_FOR_VERSION);
  });

  await t.step("an expired ticket signed with the tracker's own key is refused", async () => {
    const trackerKey = await trackerSigningKey(tracker.kvPath);
    const payload: TicketPayload = {
      user: "alice",
      version: versionOf(bigDetails),
      key: aliceKey.publicKey,
      expiresAt: Date.now() - 1000,
    };
    const expired = await signTicket(payload, trackerKey);
    using raw = await RawPeer.open(seeder.port);
    const reply = await raw.showWith(expired, aliceKey);
    assert.equal(reply?.code, "FORBIDDEN", JSON.stringify(reply));
    assert.match(String(reply?.message), /^Cannot accept ticket: it expired \d+ s ago/);
    await raw.assertReadForbidden(bigFile);
    // The same ticket with a future expiry, from the same key, works: only the expiry differed.
    const fresh = await signTicket({ ...payload, expiresAt: Date.now() + 60_000 }, trackerKey);
    assert.deepEqual(await raw.showWith(fresh, aliceKey), { type: "ok" });
    assert.ok(sameBytes(await raw.read(bigFile, 0, 10), big.subarray(0, 10)));
  });

  await t.step("a ticket signed by another key is refused", async () => {
    const forger = await newSigningKeys();
    const forged = await signTicket({
      user: "alice",
      version: versionOf(bigDetails),
      key: aliceKey.publicKey,
      expiresAt: Date.now() + 60_000,
    }, forger.privateKey);
    using raw = await RawPeer.open(seeder.port);
    const reply = await raw.showWith(forged, aliceKey);
    assert.equal(reply?.code, "FORBIDDEN", JSON.stringify(reply));
    assert.match(String(reply?.message), NOT_SIGNED);
    await raw.assertReadForbidden(bigFile);
  });

  await t.step("alice's ticket replayed by bob, who lacks alice's key, is refused", async () => {
    // bob, a member with his own key, replays the ticket he saw (on a peer, or in a log).
    const bobKey = await DownloaderKey.generate();
    using raw = await RawPeer.open(seeder.port);
    const mine = await raw.showWith(bigDetails.ticket!, bobKey);
    assert.equal(mine?.code, "FORBIDDEN", JSON.stringify(mine));
    assert.match(String(mine?.message), NOT_PROVEN);
    // ... nor does alice's proof copied from her own connection work on his.
    using hers = await RawPeer.open(seeder.port);
    const herProof = await aliceKey.prove(bigDetails.ticket!, hers.challenge);
    const copied = await raw.show(bigDetails.ticket!, herProof);
    assert.equal(copied?.code, "FORBIDDEN", JSON.stringify(copied));
    assert.match(String(copied?.message), NOT_PROVEN);
    await raw.assertReadForbidden(bigFile);
  });

  await t.step("a malformed ticket gets BAD_MESSAGE and the connection goes on", async () => {
    using raw = await RawPeer.open(seeder.port);
    const reply = await raw.show("abc.def", "A".repeat(86));
    assert.equal(reply?.code, "BAD_MESSAGE", JSON.stringify(reply));
    assert.match(String(reply?.message), /^Cannot read ticket: /);
    await raw.assertReadForbidden(bigFile);
  });

  await t.step("get downloads end to end and ping needs no ticket", async () => {
    await using out = await makeTempDir();
    const got = await runJson<GetJson>("bob", tracker.address, [
      "get",
      "big.bin",
      "--out",
      out.path,
    ]);
    assert.deepEqual(got.sources, ["seeder"]);
    assert.ok(sameBytes(await Deno.readFile(got.path), big));
    const ping = await runJson<PingJson>("bob", tracker.address, ["ping", "seeder"]);
    assert.equal(ping.online, true);
  });

  await t.step("a connection that shows no ticket within the window is closed", async () => {
    await using brief = await startPeer("brief", share.path, tracker.address, {
      args: ["--ticket-window-ms", "2000"],
    });
    // The ticketed connection opens first, so its window is over once the silent one is closed.
    using ticketed = await RawPeer.open(brief.port);
    assert.deepEqual(await ticketed.showWith(bigDetails.ticket!, aliceKey), { type: "ok" });
    using silent = await RawPeer.open(brief.port);
    assert.equal(await silent.next(), null, "the peer hung up on the connection without a ticket");
    // The one that showed a ticket stays open past the window and still reads.
    assert.ok(sameBytes(await ticketed.read(bigFile, 5, 5), big.subarray(5, 10)));
  });

  await t.step("one member's connections with a ticket have their own cap", async () => {
    const held: RawPeer[] = [];
    try {
      for (let i = 0; i < MAX_PEER_CONNECTIONS_PER_MEMBER; i++) {
        const raw = await RawPeer.open(seeder.port);
        held.push(raw);
        assert.deepEqual(await raw.showWith(bigDetails.ticket!, aliceKey), { type: "ok" });
      }
      using over = await RawPeer.open(seeder.port);
      const refused = await over.showWith(bigDetails.ticket!, aliceKey);
      assert.equal(refused?.code, "BUSY", JSON.stringify(refused));
      assert.equal(await over.next(), null, "the peer hung up on the connection over the cap");
      // Another member is not held up by alice's connections.
      await using out = await makeTempDir();
      const got = await runJson<GetJson>("bob", tracker.address, [
        "get",
        "big.bin",
        "--out",
        out.path,
      ]);
      assert.ok(sameBytes(await Deno.readFile(got.path), big));
    } finally {
      for (const raw of held) raw[Symbol.dispose]();
    }
    // Once alice's connections close, she may open more.
    await pollUntil("a connection of alice's to be let in again", async () => {
      using again = await RawPeer.open(seeder.port);
      const reply = await again.showWith(bigDetails.ticket!, aliceKey);
      return reply?.type === "ok" ? true : undefined;
    });
  });

  await t.step(
    "connections over the cap without a ticket get pings and a short window",
    async () => {
      await using gate = await startPeer("gate", share.path, tracker.address, {
        args: ["--max-unticketed", "2"],
      });
      using first = await RawPeer.open(gate.port);
      using _second = await RawPeer.open(gate.port);
      // The third is over the cap: it is still greeted and pinged, then closed without a ticket
      // before the longer window of those under the cap ends. Judged by order, not by a clock:
      // when the third is closed, the first (opened before it, under the cap) is still open.
      using third = await RawPeer.open(gate.port);
      assert.equal(third.challenge.length, 43);
      assert.deepEqual(await third.ping(7), { type: "pong", nonce: 7 });
      assert.equal(await withTimeout(third.next(), TIMEOUT_MS, "the close"), null);
      assert.deepEqual(await first.ping(8), { type: "pong", nonce: 8 }, "the first was closed too");
      // One over the cap that shows a ticket at once stays and reads.
      using fourth = await RawPeer.open(gate.port);
      assert.deepEqual(await fourth.showWith(bigDetails.ticket!, aliceKey), { type: "ok" });
      assert.ok(sameBytes(await fourth.read(bigFile, 5, 5), big.subarray(5, 10)));
    },
  );
});

Deno.test("tickets: a serving peer refuses a tracker whose ticket key is not the one it pinned", async () => {
  await using kv = await makeTempDir();
  await using share = await makeTempDir();
  await writeFile(share.path, "a.txt", "pinned");
  const start = (kvPath: string, port: number) => startTracker({ kvPath, port, heartbeatMs: 300 });
  await using first = await start(join(kv.path, "first.kv"), 0);
  const address = first.address;
  await registerUsers(address, ["seeder"]);
  await using seeder = await startPeer("seeder", share.path, address);
  await first.kill9();

  // Another tracker, with another KV and so another key, answers at the same address.
  await using _second = await start(join(kv.path, "second.kv"), first.port);
  await registerUsers(address, ["seeder"]);
  await pollUntil(
    "the peer to refuse the new tracker key",
    () => Promise.resolve(/ticket key changed/.test(seeder.process.stderr) ? true : undefined),
  );
});
