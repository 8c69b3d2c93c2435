/**
 * A bounded set of connections waiting for something (headers, a login, a ticket) that stays fair
 * under a flood: when it is full, a newcomer closes the oldest holder of the address group holding
 * the most slots. A flood from a few addresses thus evicts itself, while one honest connection from
 * an address of its own keeps its slot unless every group holds as few as it does.
 *
 * @module
 */

/** One holder's slot; release it when it no longer waits (twice is harmless). */
export interface FairSlot {
  /** Gives the slot back. */
  release(): void;
}

/**
 * Slots for waiting connections, grouped by address, evicting from the largest group when full.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FairSlots } from "./fair_slots.ts";
 * const slots = new FairSlots(2);
 * const closed: string[] = [];
 * slots.take("10.0.0.9", () => closed.push("flood 1"));
 * slots.take("10.0.0.9", () => closed.push("flood 2"));
 * slots.take("10.0.0.1", () => closed.push("honest"));
 * assert.deepEqual(closed, ["flood 1"]);
 * slots.take("10.0.0.9", () => closed.push("flood 3"));
 * assert.deepEqual(closed, ["flood 1", "flood 2"]);
 * assert.equal(slots.size, 2);
 * ```
 */
export class FairSlots {
  /** Most slots. */
  readonly capacity: number;
  /** Holders per group, oldest first (a Set keeps insertion order). */
  readonly #groups = new Map<string, Set<() => void>>();
  #size = 0;

  /** Up to `capacity` slots. */
  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`Cannot make slots: capacity ${capacity} < 1`);
    this.capacity = capacity;
  }

  /** Slots taken now. */
  get size(): number {
    return this.#size;
  }

  /**
   * Takes a slot in `group` for a connection that `evict` closes; when full, first evicts the
   * oldest holder of the largest group (the newcomer's own group counting itself).
   */
  take(group: string, evict: () => void): FairSlot {
    while (this.#size >= this.capacity) this.#evictOne(group);
    const holder = () => evict();
    let holders = this.#groups.get(group);
    if (!holders) this.#groups.set(group, holders = new Set());
    holders.add(holder);
    this.#size++;
    return {
      release: () => {
        const set = this.#groups.get(group);
        if (!set?.delete(holder)) return;
        this.#size--;
        if (set.size === 0) this.#groups.delete(group);
      },
    };
  }

  #evictOne(newcomer: string): void {
    let largest: string | undefined;
    let most = -1;
    for (const [group, holders] of this.#groups) {
      const count = holders.size + (group === newcomer ? 1 : 0);
      if (count > most) [largest, most] = [group, count];
    }
    const holders = this.#groups.get(largest!)!;
    const oldest = holders.values().next().value!;
    holders.delete(oldest);
    this.#size--;
    if (holders.size === 0) this.#groups.delete(largest!);
    try {
      oldest();
    } catch {
      // closing an already closed connection
    }
  }
}
