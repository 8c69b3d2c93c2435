/**
 * The slots for tracker connections that have not logged in yet. They are few, and when they are
 * all taken a new connection closes the oldest holder: idle connections that never log in cannot
 * keep an honest client from logging in, since each newcomer gets a slot and, with the short
 * unauthenticated idle timeout, a holder either logs in quickly or goes.
 *
 * @module
 */
import { MAX_UNAUTHENTICATED_CONNECTIONS } from "../protocol/mod.ts";

/** One connection's slot; release it on login or when the connection ends (twice is harmless). */
export interface UnauthenticatedSlot {
  /** Gives the slot back. */
  release(): void;
}

/**
 * A bounded, oldest-first set of connections not yet logged in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnauthenticatedSlots } from "./unauthenticated_slots.ts";
 * const slots = new UnauthenticatedSlots(1);
 * let evicted = false;
 * slots.take(() => evicted = true);
 * const second = slots.take(() => {});
 * assert.ok(evicted && slots.size === 1);
 * second.release();
 * assert.equal(slots.size, 0);
 * ```
 */
export class UnauthenticatedSlots {
  /** Most slots. */
  readonly capacity: number;
  readonly #holders = new Set<() => void>();

  /** Up to `capacity` slots (default {@link MAX_UNAUTHENTICATED_CONNECTIONS}). */
  constructor(capacity: number = MAX_UNAUTHENTICATED_CONNECTIONS) {
    this.capacity = capacity;
  }

  /** Slots taken now. */
  get size(): number {
    return this.#holders.size;
  }

  /** Takes a slot for a connection that `evict` closes; when full, evicts the oldest holder. */
  take(evict: () => void): UnauthenticatedSlot {
    while (this.#holders.size >= this.capacity) {
      const oldest = this.#holders.values().next().value!;
      this.#holders.delete(oldest);
      try {
        oldest();
      } catch {
        // closing an already closed connection
      }
    }
    const holder = () => evict();
    this.#holders.add(holder);
    return { release: () => void this.#holders.delete(holder) };
  }
}
