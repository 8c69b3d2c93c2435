/**
 * A read ticket shown on a connection, for unit tests of the serving side: a tracker's signing
 * keys and a downloader's key made once, and {@link ticketsFor} to have a valid ticket proven.
 *
 * @module
 */
import { ConnectionTickets, DownloaderKey } from "../../lib/peer/mod.ts";
import { newSigningKeys, signTicket } from "../../lib/protocol/mod.ts";

const tracker = await newSigningKeys();
const key = await DownloaderKey.generate();

/** A connection's tickets with a valid one, for user `ann`, shown and proven for `version`. */
export async function ticketsFor(version: string): Promise<ConnectionTickets> {
  const tickets = new ConnectionTickets();
  const ticket = await signTicket(
    { user: "ann", version, key: key.publicKey, expiresAt: Date.now() + 60_000 },
    tracker.privateKey,
  );
  await tickets.show(ticket, await key.prove(ticket, tickets.challenge), tracker.publicKey);
  return tickets;
}
