/**
 * A cap on connections per group (an address group, an account), and optionally in total: the
 * one counter behind every "at most N per X" rule of the servers.
 *
 * @module
 */

/**
 * Counts connections per group, refusing one more when its group or the total is at its cap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GroupCap } from "./group_cap.ts";
 * const cap = new GroupCap(2, { maxTotal: 3 });
 * assert.ok(cap.enter("ann") && cap.enter("ann"));
 * assert.ok(!cap.enter("ann")); // ann has her two
 * assert.ok(cap.enter("bo"));
 * assert.ok(!cap.enter("cy")); // three in total
 * cap.leave("ann");
 * assert.ok(cap.enter("cy"));
 * assert.equal(cap.total, 3);
 * ```
 */
export class GroupCap {
  /** Most connections of one group. */
  readonly maxPerGroup: number;
  /** Most connections in total. */
  readonly maxTotal: number;
  readonly #byGroup = new Map<string, number>();
  #total = 0;

  /** At most `maxPerGroup` per group and `options.maxTotal` (default no limit) in total. */
  constructor(maxPerGroup: number, options: { maxTotal?: number } = {}) {
    this.maxPerGroup = maxPerGroup;
    this.maxTotal = options.maxTotal ?? Infinity;
  }

  /** Connections counted now. */
  get total(): number {
    return this.#total;
  }

  /** Connections of `group` counted now. */
  of(group: string): number {
    return this.#byGroup.get(group) ?? 0;
  }

  /** Counts one more connection of `group`; false (and not counted) when a cap is reached. */
  enter(group: string): boolean {
    const now = this.of(group);
    if (now >= this.maxPerGroup || this.#total >= this.maxTotal) return false;
    this.#byGroup.set(group, now + 1);
    this.#total++;
    return true;
  }

  /** Counts one connection of `group` less (never below zero). */
  leave(group: string): void {
    const left = this.of(group) - 1;
    if (left < 0) return;
    if (left > 0) this.#byGroup.set(group, left);
    else this.#byGroup.delete(group);
    this.#total--;
  }
}
