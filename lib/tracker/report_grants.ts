/**
 * Which reports a downloader may make: `details` grants it one report per source it handed out,
 * for an hour; a report uses its grant up. Kept in memory (bounded), or, given a store, written to
 * KV in batches (at most {@link GRANT_FLUSH_MS} after the `details`) so a report may go to another
 * tracker than the `details` did; a grant not yet written is used up here without a KV read.
 *
 * @module
 */
import type { CountStore } from "./count_store.ts";

/** How long a grant lasts. */
export const GRANT_TTL_MS = 3600_000;

/** How long grants wait in memory before they are written to the store. */
export const GRANT_FLUSH_MS = 100;

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
 * assert.equal(await grants.use("bob", "ab12", "ann"), true);
 * assert.equal(await grants.use("bob", "ab12", "ann"), false);
 * ```
 */
export class ReportGrants {
  readonly #grants = new Map<string, number>();
  /** Grants this process wrote to the store, until when: not written again while fresh. */
  readonly #written = new Map<string, number>();
  readonly #now: () => number;
  readonly #store: CountStore | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /** Grants that expire by `now`'s clock, kept in `store` when given. */
  constructor(now: () => number = Date.now, store?: CountStore) {
    this.#now = now;
    this.#store = store;
  }

  /** Writes the grants waiting in memory to the store (the tracker calls it every {@link GRANT_FLUSH_MS}). */
  flush(): Promise<void> {
    const store = this.#store;
    if (!store || this.#grants.size === 0) return this.#flushing;
    const grants = [...this.#grants];
    this.#grants.clear();
    for (const [key, until] of grants) {
      this.#written.delete(key);
      this.#written.set(key, until);
    }
    while (this.#written.size > MAX_GRANTS) {
      this.#written.delete(this.#written.keys().next().value!);
    }
    const previous = this.#flushing;
    this.#flushing = (async () => {
      await previous.catch(() => {});
      await store.putGrants(grants.map(([key, until]) => {
        const [downloader, id, source] = key.split("\u0000") as [string, string, string];
        return { downloader, id, source, until };
      }));
    })();
    return this.#flushing;
  }

  /** Lets `downloader` report once on each of `sources` for the file `sha256`. */
  grant(downloader: string, sha256: string, sources: string[]): void {
    const now = this.#now();
    const until = now + GRANT_TTL_MS;
    for (const source of sources) {
      const key = `${downloader}\u0000${sha256}\u0000${source}`;
      // Stored already, with more than half its hour left: a repeated details writes nothing.
      if ((this.#written.get(key) ?? 0) > now + GRANT_TTL_MS / 2) continue;
      this.#grants.delete(key);
      this.#grants.set(key, until);
    }
    while (this.#grants.size > MAX_GRANTS) {
      this.#grants.delete(this.#grants.keys().next().value!);
    }
  }

  /** Uses the grant up; false when there was none (never given, expired, or used). */
  async use(downloader: string, sha256: string, source: string): Promise<boolean> {
    const key = `${downloader}\u0000${sha256}\u0000${source}`;
    const until = this.#grants.get(key);
    this.#grants.delete(key);
    this.#written.delete(key);
    if (until !== undefined || !this.#store) return until !== undefined && until > this.#now();
    await this.#flushing;
    return await this.#store.useGrant(downloader, sha256, source, this.#now());
  }
}
