/**
 * Issuing read tickets: the tracker's Ed25519 key pair, created once in its store (so every
 * tracker process on one KV signs with the same key) and used to sign a ticket for each `details`
 * that names a downloader key.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";
import { newSigningKeys, signTicket, TICKET_TTL_MS, toBase64Url } from "../protocol/mod.ts";
import type { TicketKeyStore } from "./ticket_key_store.ts";

/** Recently issued tickets kept for reuse; the oldest go first. */
const RECENT_TICKETS = 50_000;

/** What a ticket is issued for. */
export interface TicketRequest {
  /** The downloader's user. */
  user: string;
  /** The manifest id of the version. */
  version: string;
  /** The downloader's ephemeral public key (base64url). */
  key: string;
}

/**
 * Signs read tickets with the tracker's key pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTicket } from "../protocol/mod.ts";
 * import { KvTrackerStore, TicketIssuer } from "./mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const issuer = await TicketIssuer.load(store);
 * const ticket = await issuer.issue({ user: "ann", version: "a".repeat(64), key: "A".repeat(43) });
 * assert.equal(decodeTicket(ticket).payload.user, "ann");
 * assert.equal((await TicketIssuer.load(store)).publicKey, issuer.publicKey);
 * ```
 */
export class TicketIssuer {
  /** The public key peers pin, 43 base64url characters. */
  readonly publicKey: string;
  readonly #privateKey: CryptoKey;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #recent = new BoundedMap<string, { ticket: string; at: number }>(RECENT_TICKETS);

  private constructor(publicKey: string, privateKey: CryptoKey, ttlMs: number, now: () => number) {
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** Reads the store's key pair, creating it first if there is none. */
  static async load(
    store: TicketKeyStore,
    options: { ttlMs?: number; now?: () => number } = {},
  ): Promise<TicketIssuer> {
    const now = options.now ?? Date.now;
    const fresh = await newSigningKeys();
    const record = await store.ticketKeys({
      privateKey: new Uint8Array(await crypto.subtle.exportKey("pkcs8", fresh.privateKey)),
      publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", fresh.publicKey)),
      createdAt: now(),
    });
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      new Uint8Array(record.privateKey),
      { name: "Ed25519" },
      false,
      ["sign"],
    );
    if (record.publicKey.length !== 32) {
      throw new Error("Cannot load the ticket keys: the stored public key is not 32 bytes");
    }
    return new TicketIssuer(
      toBase64Url(record.publicKey),
      privateKey,
      options.ttlMs ?? TICKET_TTL_MS,
      now,
    );
  }

  /**
   * A ticket for `request` that expires after the ticket lifetime. The same request within a
   * tenth of the lifetime gets the same ticket back (it then has at least 90% of its lifetime
   * left), which spares a signature for each repeated `details`.
   */
  async issue(request: TicketRequest): Promise<string> {
    const now = this.#now();
    const key = `${request.user}\u0000${request.version}\u0000${request.key}`;
    const recent = this.#recent.peek(key);
    if (recent && now - recent.at >= 0 && now - recent.at < this.#ttlMs / 10) return recent.ticket;
    const ticket = await signTicket({ ...request, expiresAt: now + this.#ttlMs }, this.#privateKey);
    this.#recent.set(key, { ticket, at: now });
    return ticket;
  }
}
