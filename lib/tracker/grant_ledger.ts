/**
 * The ledger behind every grant a `details` hands out (report grants, progress grants): grants
 * wait in memory until the next flush writes them to the store in one batch, and the ones written
 * are remembered with their expiry, so a repeated `details` writes nothing while a stored grant
 * has more than half its time left. Both maps are bounded (least recently given go first).
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";

/** A grant's key: three names, e.g. (downloader, version, source) or (member, name, version). */
export type GrantKey = readonly [string, string, string];

/**
 * Grants waiting to be written and grants written, with one flush chain.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrantLedger } from "./grant_ledger.ts";
 * const written: string[] = [];
 * const ledger = new GrantLedger(10, 1000, async (grants) => {
 *   for (const [key, until] of grants) written.push(`${key.join("/")}@${until}`);
 * });
 * ledger.give(["bob", "ab12", "ann"], 0);
 * await ledger.flush();
 * ledger.give(["bob", "ab12", "ann"], 100); // stored with more than half its time left
 * await ledger.flush();
 * assert.deepEqual(written, ["bob/ab12/ann@1000"]);
 * ```
 */
export class GrantLedger {
  /** Grants not yet written to the store, until when, by {@link GrantLedger.key}. */
  readonly waiting: BoundedMap<string, number>;
  /** Grants this process wrote to (or read from) the store, until when. */
  readonly written: BoundedMap<string, number>;
  readonly #ttlMs: number;
  readonly #write: ((grants: [GrantKey, number][]) => Promise<void>) | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /**
   * A ledger holding at most `capacity` grants in each map, each lasting `ttlMs`, written by
   * `write` (kept in memory only without it).
   */
  constructor(
    capacity: number,
    ttlMs: number,
    write?: (grants: [GrantKey, number][]) => Promise<void>,
  ) {
    this.waiting = new BoundedMap(capacity);
    this.written = new BoundedMap(capacity);
    this.#ttlMs = ttlMs;
    this.#write = write;
  }

  /** The map key of a grant. */
  static key(grant: GrantKey): string {
    return grant.join("\u0000");
  }

  /** Whether the grants are written anywhere (a store was given). */
  get stored(): boolean {
    return this.#write !== undefined;
  }

  /** Gives (or renews) a grant at `now`, unless one written has more than half its time left. */
  give(grant: GrantKey, now: number): void {
    const key = GrantLedger.key(grant);
    if ((this.written.peek(key) ?? 0) > now + this.#ttlMs / 2) return;
    this.waiting.set(key, now + this.#ttlMs);
  }

  /** Writes the waiting grants, after any earlier flush; resolves when they are written. */
  flush(): Promise<void> {
    const write = this.#write;
    if (!write || this.waiting.size === 0) return this.#flushing;
    const grants = [...this.waiting];
    this.waiting.clear();
    for (const [key, until] of grants) this.written.set(key, until);
    const previous = this.#flushing;
    this.#flushing = (async () => {
      await previous.catch(() => {});
      await write(
        grants.map(([key, until]) => [key.split("\u0000") as [string, string, string], until]),
      );
    })();
    return this.#flushing;
  }

  /** The flushes started so far: resolves when they are written, rejects if the last failed. */
  pending(): Promise<void> {
    return this.#flushing;
  }

  /** Grants in memory (waiting and written). */
  get size(): number {
    return this.waiting.size + this.written.size;
  }
}
