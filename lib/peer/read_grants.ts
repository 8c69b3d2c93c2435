/**
 * Who may read from a serving peer: the tickets one connection has shown, the caps on
 * connections that have shown none (in total and per address), and the cap per member on those
 * that have. A connection starts with a random challenge (sent in the
 * `hello` reply) and no versions; each valid ticket it shows opens one version (manifest id) for
 * the rest of the connection, even after the ticket expires.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";
import {
  GroupCap,
  manifestId,
  MAX_PEER_CONNECTIONS_PER_MEMBER,
  MAX_TICKETS_PER_CONNECTION,
  MAX_UNTICKETED_CONNECTIONS,
  MAX_UNTICKETED_PER_ADDRESS,
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
  /** Versions opened here; past the cap, the one opened longest ago is closed. */
  readonly #versions = new BoundedMap<string, true>(MAX_TICKETS_PER_CONNECTION);

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
    this.#versions.set(payload.version, true);
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
 * Counts the connections of one server that have not shown a valid ticket, up to a cap in total
 * and a smaller one per address group (an IPv6 /64 counts as one address).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnticketedCap } from "./read_grants.ts";
 * const cap = new UnticketedCap(3, 1);
 * assert.ok(cap.enter("192.0.2.7"));
 * assert.ok(!cap.enter("192.0.2.7")); // that address has its one
 * assert.ok(cap.enter("192.0.2.8"));
 * cap.leave("192.0.2.7");
 * assert.ok(cap.enter("192.0.2.7"));
 * ```
 */
export class UnticketedCap {
  /** The cap in total. */
  readonly max: number;
  /** The cap per address group. */
  readonly maxPerAddress: number;
  readonly #counts: GroupCap;

  /**
   * A cap of `max` (default `MAX_UNTICKETED_CONNECTIONS`), and `maxPerAddress` per address group
   * (default `MAX_UNTICKETED_PER_ADDRESS`).
   */
  constructor(
    max: number = MAX_UNTICKETED_CONNECTIONS,
    maxPerAddress: number = MAX_UNTICKETED_PER_ADDRESS,
  ) {
    this.max = max;
    this.maxPerAddress = maxPerAddress;
    this.#counts = new GroupCap(maxPerAddress, { maxTotal: max });
  }

  /** Counts one more connection from `group`; false (and not counted) when a cap is reached. */
  enter(group = ""): boolean {
    return this.#counts.enter(group);
  }

  /** Counts one connection from `group` less (it showed a ticket, or closed). */
  leave(group = ""): void {
    this.#counts.leave(group);
  }

  /** Connections counted now. */
  get count(): number {
    return this.#counts.total;
  }
}

/**
 * Counts the connections of one server that showed a ticket, per member (the account the ticket
 * names), up to a cap: one account with many addresses cannot take every connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemberCap } from "./read_grants.ts";
 * const cap = new MemberCap(1);
 * assert.ok(cap.enter("ann"));
 * assert.ok(!cap.enter("ann"));
 * assert.ok(cap.enter("bo"));
 * ```
 */
export class MemberCap {
  /** The cap per member. */
  readonly max: number;
  readonly #counts: GroupCap;

  /** A cap of `max` per member (default `MAX_PEER_CONNECTIONS_PER_MEMBER`). */
  constructor(max: number = MAX_PEER_CONNECTIONS_PER_MEMBER) {
    this.max = max;
    this.#counts = new GroupCap(max);
  }

  /** Counts one more connection of `user`; false (and not counted) when the cap is reached. */
  enter(user: string): boolean {
    return this.#counts.enter(user);
  }

  /** Counts one connection of `user` less. */
  leave(user: string): void {
    this.#counts.leave(user);
  }
}
