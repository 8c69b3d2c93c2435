/**
 * The slots for tracker connections that have not logged in yet. They are few, and when they are
 * all taken a new connection closes the oldest holder of the address group holding the most
 * ({@link FairSlots}; an IPv6 /64 counts as one address): idle connections that never log in
 * cannot keep an honest client from logging in, since each newcomer gets a slot, a flood from a
 * few addresses evicts itself, and, with the short unauthenticated idle timeout, a holder either
 * logs in quickly or goes.
 *
 * @module
 */
import { FairSlots, MAX_UNAUTHENTICATED_CONNECTIONS } from "../protocol/mod.ts";

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
  readonly #slots: FairSlots;

  /** Up to `capacity` slots (default {@link MAX_UNAUTHENTICATED_CONNECTIONS}). */
  constructor(capacity: number = MAX_UNAUTHENTICATED_CONNECTIONS) {
    this.capacity = capacity;
    this.#slots = new FairSlots(capacity);
  }

  /** Slots taken now. */
  get size(): number {
    return this.#slots.size;
  }

  /**
   * Takes a slot for a connection from address group `group` that `evict` closes; when full,
   * evicts the oldest holder of the group holding the most.
   */
  take(evict: () => void, group = ""): UnauthenticatedSlot {
    return this.#slots.take(group, evict);
  }
}
