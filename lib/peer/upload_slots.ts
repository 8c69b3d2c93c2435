/**
 * Fair upload: a serving peer sends to at most `MAX_UPLOAD_SLOTS` downloaders (connections) at
 * once. A connection that asks to `read` while every slot is taken is told `BUSY` (it keeps its
 * connection, gives the chunk back to its scheduler and asks again shortly) and joins the waiting
 * list; a slot that has been held for `UPLOAD_ROTATE_MS` is given up at its next read when anyone
 * waits, so everyone progresses. Among the waiting, those this peer has received the most bytes
 * from (reciprocity) come first, then the longest waiting.
 *
 * Why reciprocity fits a network of accounts: every connection proves, with a ticket, which
 * account it downloads for, so "who gave me bytes" is known per account rather than per address,
 * and an account cannot dodge it by reconnecting.
 *
 * @module
 */

/** Downloaders served at once by one peer. */
export const MAX_UPLOAD_SLOTS = 4;

/** A slot held this long is given up at the next read when others wait. */
export const UPLOAD_ROTATE_MS = 5_000;

/** A waiting connection offered a slot keeps the offer this long. */
const OFFER_MS = 2_000;

/**
 * The upload slots of one serving peer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UploadSlots } from "./upload_slots.ts";
 * const slots = new UploadSlots({ max: 1 });
 * const a = {}, b = {};
 * assert.ok(slots.admit(a, "ann"));
 * assert.ok(!slots.admit(b, "bo"));
 * slots.leave(a);
 * assert.ok(slots.admit(b, "bo"));
 * ```
 */
export class UploadSlots {
  readonly #max: number;
  readonly #rotateMs: number;
  readonly #now: () => number;
  readonly #credit: (user: string) => number;
  readonly #holders = new Map<object, number>();
  readonly #waiting = new Map<object, { user: string; since: number }>();
  readonly #offers = new Map<object, number>();

  /** Slots under `max`, rotated after `rotateMs`, waiting ordered by `credit` (bytes received). */
  constructor(
    options: {
      max?: number;
      rotateMs?: number;
      credit?: (user: string) => number;
      now?: () => number;
    } = {},
  ) {
    this.#max = Math.max(1, options.max ?? MAX_UPLOAD_SLOTS);
    this.#rotateMs = options.rotateMs ?? UPLOAD_ROTATE_MS;
    this.#credit = options.credit ?? (() => 0);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Whether connection `conn` (downloading for `user`) may be sent a chunk now. When not, it is
   * on the waiting list and should be told to ask again.
   */
  admit(conn: object, user: string): boolean {
    const now = this.#now();
    this.#expireOffers(now);
    const since = this.#holders.get(conn);
    if (since !== undefined) {
      if (now - since < this.#rotateMs || this.#waiting.size === 0) return true;
      this.#holders.delete(conn); // rotate: give the slot to someone waiting
      this.#waiting.set(conn, { user, since: now });
      this.#offerFree(now);
      return false;
    }
    if (this.#offers.delete(conn) || this.#holders.size + this.#offers.size < this.#max) {
      this.#waiting.delete(conn);
      this.#holders.set(conn, now);
      return true;
    }
    if (!this.#waiting.has(conn)) this.#waiting.set(conn, { user, since: now });
    return false;
  }

  /** Forgets `conn` (it closed), freeing its slot. */
  leave(conn: object): void {
    this.#waiting.delete(conn);
    this.#offers.delete(conn);
    if (this.#holders.delete(conn)) this.#offerFree(this.#now());
  }

  /** Connections being served now. */
  get serving(): number {
    return this.#holders.size;
  }

  /** Offers free slots to the best waiting connections: most credit, then longest waiting. */
  #offerFree(now: number): void {
    const order = [...this.#waiting].sort(([, a], [, b]) =>
      this.#credit(b.user) - this.#credit(a.user) || a.since - b.since
    );
    for (const [conn] of order) {
      if (this.#holders.size + this.#offers.size >= this.#max) break;
      this.#waiting.delete(conn);
      this.#offers.set(conn, now + OFFER_MS);
    }
  }

  #expireOffers(now: number): void {
    let expired = false;
    for (const [conn, until] of this.#offers) {
      if (until < now) {
        this.#offers.delete(conn);
        expired = true;
      }
    }
    if (expired) this.#offerFree(now);
  }
}
