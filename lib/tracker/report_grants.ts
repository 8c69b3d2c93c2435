/**
 * Which reports a downloader may make: `details` grants it one report per source it handed out,
 * for an hour; a report uses its grant up. Kept in memory (bounded): a tracker restart forgets the
 * grants, so reports for transfers that straddle a restart do not count — the cost of keeping
 * `details` free of disk writes. Pure apart from the clock it is given.
 *
 * @module
 */

/** How long a grant lasts. */
export const GRANT_TTL_MS = 3600_000;

/** Most grants remembered; the oldest are dropped beyond this. */
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
 * assert.equal(grants.use("bob", "ab12", "ann"), true);
 * assert.equal(grants.use("bob", "ab12", "ann"), false);
 * ```
 */
export class ReportGrants {
  readonly #grants = new Map<string, number>();
  readonly #now: () => number;

  /** Grants that expire by `now`'s clock. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Lets `downloader` report once on each of `sources` for the file `sha256`. */
  grant(downloader: string, sha256: string, sources: string[]): void {
    const until = this.#now() + GRANT_TTL_MS;
    for (const source of sources) {
      const key = `${downloader}\u0000${sha256}\u0000${source}`;
      this.#grants.delete(key);
      this.#grants.set(key, until);
    }
    while (this.#grants.size > MAX_GRANTS) {
      this.#grants.delete(this.#grants.keys().next().value!);
    }
  }

  /** Uses the grant up; false when there was none (never given, expired, or used). */
  use(downloader: string, sha256: string, source: string): boolean {
    const key = `${downloader}\u0000${sha256}\u0000${source}`;
    const until = this.#grants.get(key);
    this.#grants.delete(key);
    return until !== undefined && until > this.#now();
  }
}
