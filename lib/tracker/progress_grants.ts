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
import { GrantLedger } from "./grant_ledger.ts";

/**
 * How long a `details` lets its member send `progress` on the version it named (an hour, longer
 * than a read ticket's 10 minutes so a slow download is not cut off); every accepted `progress`
 * renews it.
 */
export const PROGRESS_GRANT_TTL_MS = 3600_000;

/** Most progress grants remembered in memory (waiting, and written); the least recently given go first. */
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
export class ProgressGrants extends GrantLedger<CountStore> {
  /** Grants that expire by `now`'s clock, kept in `store` when given. */
  constructor(now: () => number = Date.now, store?: CountStore) {
    super({
      capacity: MAX_PROGRESS_GRANTS,
      ttlMs: PROGRESS_GRANT_TTL_MS,
      now,
      store,
      write: (store, grants) =>
        store.putProgressGrants(grants.map(([[user, name, id], until]) => ({
          user,
          name,
          id,
          until,
        }))),
    });
  }

  /** Lets `user` send `progress` on version `id` of `name` (again) for {@link PROGRESS_GRANT_TTL_MS}. */
  grant(user: string, name: string, id: string): void {
    this.give([user, name, id]);
  }

  /** Whether `user` holds a live grant for version `id` of `name`, given here or by any tracker. */
  async allows(user: string, name: string, id: string): Promise<boolean> {
    const key = GrantLedger.key([user, name, id]);
    const now = this.now();
    if ((this.waiting.peek(key) ?? 0) > now || (this.written.peek(key) ?? 0) > now) return true;
    if (!this.store) return false;
    await this.pending().catch(() => {});
    const until = await this.store.progressGrant(user, name, id);
    if (until <= now) return false;
    this.written.set(key, until);
    return true;
  }
}
