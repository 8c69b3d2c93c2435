/**
 * Which reports a downloader may make: `details` grants it one report per source it handed out,
 * for an hour; a report uses its grant up. Kept in memory (bounded), or, given a store, written to
 * KV in batches (at most {@link GRANT_FLUSH_MS} after the `details`) so a report may go to another
 * tracker than the `details` did; a grant not yet written is used up here without a KV read.
 *
 * @module
 */
import type { CountStore } from "./count_store.ts";
import { GrantLedger } from "./grant_ledger.ts";

/** How long a grant lasts. */
export const GRANT_TTL_MS = 3600_000;

/** How long grants wait in memory before they are written to the store. */
export const GRANT_FLUSH_MS = 100;

/** Most grants remembered (waiting, and written); the least recently given go first. */
const MAX_GRANTS = 1_000_000;

/**
 * Grants of reports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReportGrants } from "./report_grants.ts";
 * const grants = new ReportGrants(() => 0);
 * grants.grant("bob", "ab12", ["ann"]);
 * assert.equal(await grants.use("bob", "ab12", "ann"), true);
 * assert.equal(await grants.use("bob", "ab12", "ann"), false);
 * ```
 */
export class ReportGrants extends GrantLedger<CountStore> {
  /** Grants that expire by `now`'s clock, kept in `store` when given. */
  constructor(now: () => number = Date.now, store?: CountStore) {
    super({
      capacity: MAX_GRANTS,
      ttlMs: GRANT_TTL_MS,
      now,
      store,
      write: (store, grants) =>
        store.putGrants(grants.map(([[downloader, id, source], until]) => ({
          downloader,
          id,
          source,
          until,
        }))),
    });
  }

  /** Lets `downloader` report once on each of `sources` for the file `sha256`. */
  grant(downloader: string, sha256: string, sources: string[]): void {
    for (const source of sources) this.give([downloader, sha256, source]);
  }

  /** Uses the grant up; false when there was none (never given, expired, or used). */
  async use(downloader: string, sha256: string, source: string): Promise<boolean> {
    const key = GrantLedger.key([downloader, sha256, source]);
    const until = this.waiting.peek(key);
    this.waiting.delete(key);
    this.written.delete(key);
    if (until !== undefined || !this.store) return until !== undefined && until > this.now();
    await this.pending();
    return await this.store.useGrant(downloader, sha256, source, this.now());
  }
}
