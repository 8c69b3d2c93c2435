/**
 * The ledger behind every grant a `details` hands out (report grants, progress grants): grants
 * wait in memory until the next flush writes them to the store in one batch, and the ones written
 * are remembered with their expiry, so a repeated `details` writes nothing while a stored grant
 * has more than half its time left. Both maps are bounded (least recently given go first).
 * `ReportGrants` and `ProgressGrants` extend it with how a grant is used.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";

/** A grant's key: three names, e.g. (downloader, version, source) or (member, name, version). */
export type GrantKey = readonly [string, string, string];

/** Settings of a {@link GrantLedger}. */
export interface GrantLedgerOptions<S> {
  /** Most grants in each of the two maps. */
  capacity: number;
  /** How long a grant lasts. */
  ttlMs: number;
  /** The clock, in ms. */
  now: () => number;
  /** Where grants are written, if anywhere (they stay in memory without it). */
  store: S | undefined;
  /** Writes a batch of grants, each with until when it lasts, to `store`. */
  write: (store: S, grants: [GrantKey, number][]) => Promise<void>;
}

/**
 * Grants waiting to be written and grants written, with one flush chain.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrantLedger } from "./grant_ledger.ts";
 * const written: string[] = [];
 * const ledger = new GrantLedger({
 *   capacity: 10, ttlMs: 1000, now: () => 0, store: written,
 *   write: async (store, grants) => {
 *     for (const [key, until] of grants) store.push(`${key.join("/")}@${until}`);
 *   },
 * });
 * ledger.give(["bob", "ab12", "ann"]);
 * await ledger.flush();
 * ledger.give(["bob", "ab12", "ann"]); // stored with more than half its time left
 * await ledger.flush();
 * assert.deepEqual(written, ["bob/ab12/ann@1000"]);
 * ```
 */
export class GrantLedger<S> {
  /** Grants not yet written to the store, until when, by {@link GrantLedger.key}. */
  protected readonly waiting: BoundedMap<string, number>;
  /** Grants this process wrote to (or read from) the store, until when. */
  protected readonly written: BoundedMap<string, number>;
  /** The clock, in ms. */
  protected readonly now: () => number;
  /** Where grants are written, if anywhere. */
  protected readonly store: S | undefined;
  readonly #ttlMs: number;
  readonly #write: (store: S, grants: [GrantKey, number][]) => Promise<void>;
  #flushing: Promise<void> = Promise.resolve();

  /** An empty ledger. */
  constructor(options: GrantLedgerOptions<S>) {
    this.waiting = new BoundedMap(options.capacity);
    this.written = new BoundedMap(options.capacity);
    this.now = options.now;
    this.store = options.store;
    this.#ttlMs = options.ttlMs;
    this.#write = options.write;
  }

  /** The map key of a grant. */
  static key(grant: GrantKey): string {
    return grant.join("\u0000");
  }

  /** Gives (or renews) a grant now, unless one written has more than half its time left. */
  give(grant: GrantKey): void {
    const now = this.now();
    const key = GrantLedger.key(grant);
    if ((this.written.peek(key) ?? 0) > now + this.#ttlMs / 2) return;
    this.waiting.set(key, now + this.#ttlMs);
  }

  /** Writes the waiting grants to the store, after any earlier flush. */
  flush(): Promise<void> {
    const store = this.store;
    if (store === undefined || this.waiting.size === 0) return this.#flushing;
    const grants = [...this.waiting];
    this.waiting.clear();
    for (const [key, until] of grants) this.written.set(key, until);
    const batch = grants.map(([key, until]): [GrantKey, number] => [
      key.split("\u0000") as [string, string, string],
      until,
    ]);
    const previous = this.#flushing;
    this.#flushing = (async () => {
      await previous.catch(() => {});
      await this.#write(store, batch);
    })();
    return this.#flushing;
  }

  /** The flushes started so far: resolves when they are written, rejects if the last failed. */
  protected pending(): Promise<void> {
    return this.#flushing;
  }

  /** Grants in memory (waiting and written), for tests and the dashboard. */
  get size(): number {
    return this.waiting.size + this.written.size;
  }
}
