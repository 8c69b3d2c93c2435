/**
 * Who may read from a serving peer: the tickets one connection has shown, and the cap on
 * connections that have shown none. A connection starts with a random challenge (sent in the
 * `hello` reply) and no versions; each valid ticket it shows opens one version (manifest id) for
 * the rest of the connection, even after the ticket expires.
 *
 * @module
 */
import {
  manifestId,
  MAX_TICKETS_PER_CONNECTION,
  MAX_UNTICKETED_CONNECTIONS,
  newChallenge,
  type TicketPayload,
  verifyTicket,
} from "../protocol/mod.ts";
import type { IndexedFile } from "./share_index.ts";

/**
 * The tickets shown on one connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionTickets } from "./read_grants.ts";
 * const tickets = new ConnectionTickets();
 * assert.equal(tickets.challenge.length, 43);
 * assert.equal(tickets.any, false);
 * ```
 */
export class ConnectionTickets {
  /** The random challenge this connection's proofs must sign. */
  readonly challenge: string = newChallenge();
  readonly #versions = new Set<string>();

  /** Whether any valid ticket was shown. */
  get any(): boolean {
    return this.#versions.size > 0;
  }

  /**
   * Checks a ticket and its proof (see `verifyTicket`) and opens its version on this connection;
   * throws `BAD_MESSAGE` or `FORBIDDEN` otherwise.
   */
  async show(
    ticket: string,
    proof: string,
    trackerKey: CryptoKey,
    now: number = Date.now(),
  ): Promise<TicketPayload> {
    const payload = await verifyTicket(ticket, {
      trackerKey,
      challenge: this.challenge,
      proof,
      now,
    });
    this.#versions.delete(payload.version);
    this.#versions.add(payload.version);
    while (this.#versions.size > MAX_TICKETS_PER_CONNECTION) {
      this.#versions.delete(this.#versions.values().next().value!);
    }
    return payload;
  }

  /** Whether a ticket for `version` was shown on this connection. */
  allows(version: string): boolean {
    return this.#versions.has(version);
  }
}

const versions = new WeakMap<IndexedFile, string>();

/**
 * The manifest id of an indexed file, computed once per index entry (an entry is replaced, never
 * changed, when its file changes).
 */
export function versionOf(entry: IndexedFile): string {
  let id = versions.get(entry);
  if (id === undefined) {
    id = manifestId(entry);
    versions.set(entry, id);
  }
  return id;
}

/**
 * Counts the connections of one server that have not shown a valid ticket, up to a cap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnticketedCap } from "./read_grants.ts";
 * const cap = new UnticketedCap(1);
 * assert.ok(cap.enter());
 * assert.ok(!cap.enter());
 * cap.leave();
 * assert.ok(cap.enter());
 * ```
 */
export class UnticketedCap {
  /** The cap. */
  readonly max: number;
  #count = 0;

  /** A cap of `max` (default `MAX_UNTICKETED_CONNECTIONS`). */
  constructor(max: number = MAX_UNTICKETED_CONNECTIONS) {
    this.max = max;
  }

  /** Counts one more connection; false (and not counted) when the cap is reached. */
  enter(): boolean {
    if (this.#count >= this.max) return false;
    this.#count++;
    return true;
  }

  /** Counts one connection less (it showed a ticket, or closed). */
  leave(): void {
    this.#count = Math.max(0, this.#count - 1);
  }

  /** Connections counted now. */
  get count(): number {
    return this.#count;
  }
}
