/**
 * Read-ticket renewal against real processes: a tracker whose tickets live a few seconds
 * (`--ticket-ttl-ms`) and a serving peer on loopback. A download that outlives the ticket that
 * came with `details` asks for a fresh one before it connects, and finishes; without a way to
 * renew, the same download is refused by the peer.
 *
 * @module
 */
import assert from "node:assert/strict";
import { downloadFile, parseAddress, PeerError, TrackerClient } from "../../lib/peer/mod.ts";
import { decodeTicket } from "../../lib/protocol/mod.ts";
import {
  makeTempDir,
  MiB,
  PASSWORD,
  pollUntil,
  randomBytes,
  registerUsers,
  sameBytes,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

const TICKET_TTL_MS = 2_000;

Deno.test("ticket renewal: a download that outlives its read ticket renews it and finishes", async (t) => {
  await using tracker = await startTracker({ args: ["--ticket-ttl-ms", String(TICKET_TTL_MS)] });
  await using share = await makeTempDir();
  await registerUsers(tracker.address, ["seeder", "alice"]);
  const bytes = await writeFile(share.path, "long.bin", randomBytes(3 * MiB + 11));
  await using _seeder = await startPeer("seeder", share.path, tracker.address);
  await using alice = await TrackerClient.connect(parseAddress(tracker.address));
  const token = (await alice.login("alice", PASSWORD)).token;

  const details = await alice.details(token, "long.bin");
  const { expiresAt } = decodeTicket(details.ticket!).payload;
  assert.ok(expiresAt - Date.now() <= TICKET_TTL_MS, "the tracker's ticket lifetime was shortened");
  await pollUntil(
    "the read ticket to expire",
    () => Promise.resolve(Date.now() > expiresAt ? true : undefined),
  );

  await t.step("without renewal the expired ticket opens no connection", async () => {
    await using out = await makeTempDir();
    await assert.rejects(
      downloadFile(details, { outDir: out.path, self: "alice", stallTimeoutMs: 1 }),
      (error) =>
        error instanceof PeerError && error.code === "STALLED" &&
        /seeder: refused/.test(error.message),
    );
  });

  await t.step("with renewal a fresh ticket is asked for and the download finishes", async () => {
    await using out = await makeTempDir();
    let renewals = 0;
    const result = await downloadFile(details, {
      outDir: out.path,
      self: "alice",
      stallTimeoutMs: 20_000,
      renewTicket: async () => {
        renewals++;
        return (await alice.details(token, "long.bin", { version: details.id })).ticket;
      },
    });
    assert.ok(renewals >= 1, "the ticket was renewed");
    assert.deepEqual(result.sources, ["seeder"]);
    assert.ok(sameBytes(await Deno.readFile(result.path), bytes));
  });
});
