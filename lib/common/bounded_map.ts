/**
 * A `Map` that holds at most a fixed number of entries and forgets the least recently used one to
 * make room: the one home for every per-address, per-user and per-version table a server keeps
 * for a bounded time, so no client can grow it without end.
 *
 * @module
 */

/**
 * A size-bounded map that evicts the least recently used entry when a new key would exceed its
 * capacity. `get` and `set` count as a use; `peek` and iteration do not. Iteration runs from the
 * least to the most recently used entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BoundedMap } from "./bounded_map.ts";
 * const recent = new BoundedMap<string, number>(2);
 * recent.set("a", 1).set("b", 2);
 * recent.get("a"); // "a" is now the most recently used
 * recent.set("c", 3); // "b" goes
 * assert.deepEqual([...recent.keys()], ["a", "c"]);
 * ```
 */
export class BoundedMap<K, V> extends Map<K, V> {
  /** The most entries the map holds. */
  readonly capacity: number;
  /** Called with each entry evicted to make room (not for `delete` or `clear`). */
  readonly #onEvict: ((key: K, value: V) => void) | undefined;

  /** An empty map holding at most `capacity` (at least 1) entries. */
  constructor(capacity: number, onEvict?: (key: K, value: V) => void) {
    super();
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cannot bound a map to ${capacity} entries: need a whole number >= 1`);
    }
    this.capacity = capacity;
    this.#onEvict = onEvict;
  }

  /** The value for `key`, marking it the most recently used. */
  override get(key: K): V | undefined {
    if (!super.has(key)) return undefined;
    const value = super.get(key)!;
    super.delete(key);
    super.set(key, value);
    return value;
  }

  /** The value for `key` without marking it used. */
  peek(key: K): V | undefined {
    return super.get(key);
  }

  /** Sets `key` as the most recently used entry, evicting the least recently used if full. */
  override set(key: K, value: V): this {
    // Map's constructor calls set before the fields exist; it is never given entries here.
    if (this.capacity === undefined) return super.set(key, value);
    super.delete(key);
    while (this.size >= this.capacity) {
      const [oldKey, oldValue] = super.entries().next().value!;
      super.delete(oldKey);
      this.#onEvict?.(oldKey, oldValue);
    }
    return super.set(key, value);
  }
}
