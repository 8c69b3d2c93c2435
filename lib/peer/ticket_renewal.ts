/**
 * When and how a download's read ticket is renewed. Peers serve `read` only on a connection that
 * showed a ticket from the tracker, and a ticket opens new connections only until it expires; a
 * download that outlives its ticket (a large file, a slow swarm) needs a fresh one for each source
 * it connects to later. The rule: a ticket that expires within {@link TICKET_RENEW_MARGIN_MS} is
 * renewed before it is shown; one renewal runs at a time however many sources connect meanwhile;
 * only a ticket for the same version replaces the one in hand, and a failed renewal keeps it.
 *
 * @module
 */
import { decodeTicket } from "../protocol/mod.ts";

/** A ticket that expires within this long is renewed before it is shown to a new source. */
export const TICKET_RENEW_MARGIN_MS = 60_000;

/** Options of a {@link TicketRenewal}. */
export interface TicketRenewalOptions {
  /** Asks for a fresh ticket of the same version (e.g. `details` again). None: never renewed. */
  renew?: () => Promise<string | undefined>;
  /** The wall clock the ticket's `expiresAt` is compared with. Default `Date.now`. */
  now?: () => number;
}

/**
 * The read ticket of one download, renewed when it is about to expire.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TicketRenewal } from "./ticket_renewal.ts";
 * // Without a ticket (or without a way to renew it) the one in hand is shown as it is.
 * assert.equal(await new TicketRenewal(undefined).current(), undefined);
 * ```
 */
export class TicketRenewal {
  #ticket: string | undefined;
  readonly #renew: (() => Promise<string | undefined>) | undefined;
  readonly #now: () => number;
  #renewal: Promise<string | undefined> | undefined;

  /** Starts from `ticket` (the one that came with `details`). */
  constructor(ticket: string | undefined, options: TicketRenewalOptions = {}) {
    this.#ticket = ticket;
    this.#renew = options.renew;
    this.#now = options.now ?? Date.now;
  }

  /** The ticket to show a new connection: renewed first when it expires within a minute. */
  async current(): Promise<string | undefined> {
    const ticket = this.#ticket;
    const renew = this.#renew;
    if (ticket === undefined || renew === undefined) return ticket;
    const { version, expiresAt } = decodeTicket(ticket).payload;
    if (expiresAt - this.#now() > TICKET_RENEW_MARGIN_MS) return ticket;
    this.#renewal ??= renew().then((fresh) => {
      // Only a ticket for the same version will do; otherwise keep the old one.
      if (fresh !== undefined && decodeTicket(fresh).payload.version === version) {
        this.#ticket = fresh;
      }
      return this.#ticket;
    }, () => this.#ticket).finally(() => this.#renewal = undefined);
    return await this.#renewal;
  }
}
