/**
 * The ticket-keys role of the tracker's store: the Ed25519 key pair that signs read tickets,
 * created once by whichever tracker on a KV commits first and shared by all of them; behind
 * {@link TicketKeyStore}, kept in KV under `["ticket_keys"]` by {@link KvTicketKeyStore}.
 *
 * @module
 */
import { type KvPlumbing, RETRY, retrying, StoreError } from "./kv_plumbing.ts";

/** The tracker's Ed25519 key pair that signs read tickets, shared by every tracker on one KV. */
export interface TicketKeyRecord {
  /** The private key, PKCS #8. */
  privateKey: Uint8Array;
  /** The public key, raw 32 bytes. */
  publicKey: Uint8Array;
  /** When it was made, ms since the epoch. */
  createdAt: number;
}

/** Where the ticket signing keys are kept. */
export interface TicketKeyStore {
  /**
   * The ticket signing keys: the stored pair, or `candidate` once stored. Of concurrent first
   * calls (several trackers on one KV) exactly one pair is stored, and every caller gets it.
   */
  ticketKeys(candidate: TicketKeyRecord): Promise<TicketKeyRecord>;
}

/**
 * {@link TicketKeyStore} on Deno KV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvStores } from "./store.ts";
 * await using stores = await openKvStores(":memory:");
 * const pair = { privateKey: new Uint8Array(1), publicKey: new Uint8Array(2), createdAt: 0 };
 * assert.deepEqual(await stores.tickets.ticketKeys(pair), pair);
 * const other = { ...pair, createdAt: 1 };
 * assert.deepEqual(await stores.tickets.ticketKeys(other), pair);
 * ```
 */
export class KvTicketKeyStore implements TicketKeyStore {
  readonly #kv: KvPlumbing;

  /** Ticket keys kept through `plumbing`. */
  constructor(plumbing: KvPlumbing) {
    this.#kv = plumbing;
  }

  /** The stored pair, or `candidate` once stored. */
  ticketKeys(candidate: TicketKeyRecord): Promise<TicketKeyRecord> {
    const key = ["ticket_keys"];
    return retrying(async () => {
      const stored = await this.#kv.kv.get<TicketKeyRecord>(key);
      if (stored.value) return stored.value;
      const result = await this.#kv.atomic().check(stored).set(key, candidate).commit();
      return result.ok ? candidate : RETRY;
    }, () => {
      throw new StoreError("COMMIT_FAILED", "Cannot store the ticket keys: KV commit failed");
    });
  }
}
