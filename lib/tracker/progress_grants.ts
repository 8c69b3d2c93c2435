/**
 * Which members may send `progress` on which version: `details` hands the asking member a version
 * (its holders and a read ticket), which lets it tell the tracker it holds part of that version
 * for {@link PROGRESS_GRANT_TTL_MS}; each accepted `progress` renews it, so a long download or a
 * `get --seed-for` stays listed. A member that never asked for a version cannot be listed as its
 * partial holder.
 *
 * Kept in memory, and, given a store, written to KV in batches (at most
 * `GRANT_FLUSH_MS` after the `details`, with the report grants) so that `progress` may go to another
 * tracker than the `details` did. A grant this process gave or wrote is found in memory first, so
 * the usual `details` then `progress` on one tracker never waits for the batch.
 *
 * @module
 */
import type { CountStore } from "./count_store.ts";

/**
 * How long a `details` lets its member send `progress` on the version it named (an hour, longer
 * than a read ticket's 10 minutes so a slow download is not cut off); every accepted `progress`
 * renews it.
 */
export const PROGRESS_GRANT_TTL_MS = 3600_000;

/** Most progress grants remembered in memory (waiting or written); the oldest go first. */
const MAX_PROGRESS_GRANTS = 100_000;

/**
 * Grants of `progress`, by (member, name, version).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgressGrants } from "./progress_grants.ts";
 * const grants = new ProgressGrants(() => 0);
 * grants.grant("bob", "a.bin", "ab12");
 * assert.equal(await grants.allows("bob", "a.bin", "ab12"), true);
 * assert.equal(await grants.allows("eve", "a.bin", "ab12"), false);
 * ```
 */
export class ProgressGrants {
  /** Grants not yet written to the store, until when. */
  readonly #waiting = new Map<string, number>();
  /** Grants this process wrote to (or read from) the store, until when. */
  readonly #known = new Map<string, number>();
  readonly #now: () => number;
  readonly #store: CountStore | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /** Grants that expire by `now`'s clock, kept in `store` when given. */
  constructor(now: () => number = Date.now, store?: CountStore) {
    this.#now = now;
    this.#store = store;
  }

  /** Lets `user` send `progress` on version `id` of `name` (again) for {@link PROGRESS_GRANT_TTL_MS}. */
  grant(user: string, name: string, id: string): void {
    const now = this.#now();
    const key = `${user}\u0000${name}\u0000${id}`;
    // Stored already with more than half its time left: a repeated details writes nothing.
    if ((this.#known.get(key) ?? 0) > now + PROGRESS_GRANT_TTL_MS / 2) return;
    this.#waiting.delete(key);
    this.#waiting.set(key, now + PROGRESS_GRANT_TTL_MS);
    trim(this.#waiting);
  }

  /** Whether `user` holds a live grant for version `id` of `name`, given here or by any tracker. */
  async allows(user: string, name: string, id: string): Promise<boolean> {
    const key = `${user}\u0000${name}\u0000${id}`;
    const now = this.#now();
    if ((this.#waiting.get(key) ?? 0) > now || (this.#known.get(key) ?? 0) > now) return true;
    if (!this.#store) return false;
    await this.#flushing.catch(() => {});
    const until = await this.#store.progressGrant(user, name, id);
    if (until <= now) return false;
    remember(this.#known, key, until);
    return true;
  }

  /** Writes the waiting grants to the store (a started tracker calls it with the report grants). */
  flush(): Promise<void> {
    const store = this.#store;
    if (!store || this.#waiting.size === 0) return this.#flushing;
    const grants = [...this.#waiting];
    this.#waiting.clear();
    for (const [key, until] of grants) remember(this.#known, key, until);
    const previous = this.#flushing;
    this.#flushing = (async () => {
      await previous.catch(() => {});
      await store.putProgressGrants(grants.map(([key, until]) => {
        const [user, name, id] = key.split("\u0000") as [string, string, string];
        return { user, name, id, until };
      }));
    })();
    return this.#flushing;
  }

  /** Grants in memory (waiting and known), for tests and the dashboard. */
  get size(): number {
    return this.#waiting.size + this.#known.size;
  }
}

/** Sets `key` to `until` as the newest entry of `map`, dropping the oldest beyond the bound. */
function remember(map: Map<string, number>, key: string, until: number): void {
  map.delete(key);
  map.set(key, until);
  trim(map);
}

/** Drops the oldest entries of `map` beyond {@link MAX_PROGRESS_GRANTS}. */
function trim(map: Map<string, number>): void {
  while (map.size > MAX_PROGRESS_GRANTS) map.delete(map.keys().next().value!);
}
