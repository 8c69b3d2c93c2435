/**
 * Fair upload: a serving peer sends to at most `MAX_UPLOAD_SLOTS` downloaders (connections) at
 * once (by account: one account's connections share a slot). One that asks to `read` while every
 * slot is taken is told `BUSY` (it keeps its connection, gives the chunk back to its scheduler and
 * asks again shortly) and joins the waiting list; a slot held for `UPLOAD_ROTATE_MS` is given up
 * at its next read when anyone waits, and one idle for `UPLOAD_IDLE_MS` (nothing being sent to it,
 * nothing asked) is free again, so everyone progresses. A slow downloader is not idle while its
 * chunk is being sent: freeing its slot then would add senders to an upload that is already full,
 * until every chunk crawls. Among the waiting, those this peer has received the most bytes
 * from (reciprocity) come first, then the longest waiting.
 *
 * Why reciprocity fits a network of accounts: every connection proves, with a ticket, which
 * account it downloads for, so "who gave me bytes" is known per account rather than per address,
 * and an account cannot dodge it by reconnecting.
 *
 * @module
 */
import { MAX_UPLOAD_SLOTS } from "../protocol/mod.ts";

/** A slot held this long is given up at the next read when others wait. */
export const UPLOAD_ROTATE_MS = 5_000;

/** A waiting connection offered a slot keeps the offer this long. */
const OFFER_MS = 2_000;

/** A slot whose downloader is sent nothing and has not asked for a chunk this long is free again. */
export const UPLOAD_IDLE_MS = 250;

/**
 * The upload slots of one serving peer, by downloading account (several connections of one
 * account share its slot).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UploadSlots } from "./upload_slots.ts";
 * let now = 0;
 * const slots = new UploadSlots({ max: 1, now: () => now });
 * assert.ok(slots.admit("ann"));
 * assert.ok(!slots.admit("bo"));
 * slots.done("ann"); // her chunk is sent
 * now += 2_000; // ann asked for nothing since: her slot is free
 * assert.ok(slots.admit("bo"));
 * ```
 */
export class UploadSlots {
  readonly #max: number;
  readonly #rotateMs: number;
  readonly #now: () => number;
  readonly #credit: (user: string) => number;
  /** Accounts being served: since when, when they last asked or were last sent a chunk, and how many sends are under way. */
  readonly #holders = new Map<string, { since: number; last: number; sending: number }>();
  /** Accounts told to wait, and since when. */
  readonly #waiting = new Map<string, number>();
  /** Accounts offered a freed slot, until when. */
  readonly #offers = new Map<string, number>();

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
   * Whether account `user` may be sent a chunk now. When not, it is on the waiting list and
   * should be told to ask again.
   */
  admit(user: string): boolean {
    const now = this.#now();
    this.#expire(now);
    const held = this.#holders.get(user);
    if (held) {
      if (now - held.since < this.#rotateMs || this.#waiting.size === 0) {
        held.last = now;
        held.sending++;
        return true;
      }
      this.#holders.delete(user); // rotate: give the slot to someone waiting
      this.#offerFree(now);
      this.#waiting.set(user, now);
      return false;
    }
    if (this.#offers.delete(user) || this.#holders.size + this.#offers.size < this.#max) {
      this.#waiting.delete(user);
      this.#holders.set(user, { since: now, last: now, sending: 1 });
      return true;
    }
    if (!this.#waiting.has(user)) this.#waiting.set(user, now);
    return false;
  }

  /**
   * Tells that a send {@link UploadSlots.admit} allowed `user` is over (sent or failed). A slot
   * is idle only with no send under way: a slow downloader is not idle while its chunk is sent.
   */
  done(user: string): void {
    const held = this.#holders.get(user);
    if (!held) return;
    held.sending = Math.max(0, held.sending - 1);
    held.last = this.#now();
  }

  /**
   * Forgets account `user` (its connection ended): its slot is free at once unless a send to it is
   * under way, and it is no longer waiting or offered a slot, which would keep the slot from those
   * still asking for the offer's two seconds.
   */
  leave(user: string): void {
    const held = this.#holders.get(user);
    if (held && held.sending === 0) this.#holders.delete(user);
    this.#waiting.delete(user);
    if (this.#offers.delete(user) || held) this.#offerFree(this.#now());
  }

  /** Accounts being served now. */
  get serving(): number {
    return this.#holders.size;
  }

  /** Offers free slots to the best waiting accounts: most credit, then longest waiting. */
  #offerFree(now: number): void {
    const order = [...this.#waiting].sort(([a, since], [b, since2]) =>
      this.#credit(b) - this.#credit(a) || since - since2
    );
    for (const [user] of order) {
      if (this.#holders.size + this.#offers.size >= this.#max) break;
      this.#waiting.delete(user);
      this.#offers.set(user, now + OFFER_MS);
    }
  }

  /** Frees the slots of idle holders, drops stale offers and waiters, offers what is free. */
  #expire(now: number): void {
    for (const [user, held] of this.#holders) {
      if (held.sending === 0 && now - held.last > UPLOAD_IDLE_MS) this.#holders.delete(user);
    }
    for (const [user, until] of this.#offers) if (until < now) this.#offers.delete(user);
    for (const [user, since] of this.#waiting) {
      if (now - since > WAITING_FORGET_MS) this.#waiting.delete(user);
    }
    this.#offerFree(now);
  }
}

/** A waiting account that has not asked again this long is forgotten. */
const WAITING_FORGET_MS = 30_000;
