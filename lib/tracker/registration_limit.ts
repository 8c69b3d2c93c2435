/**
 * How many `register` requests one address may send: {@link REGISTRATIONS_PER_ADDRESS} at once,
 * then one more every {@link REGISTRATION_REFILL_MS} (a token bucket per address, grouped by
 * {@link addressGroup}). Every attempt counts, taken names too, so the limit also slows anyone
 * who probes which names exist. Kept in memory; or, given a store (the tracker's), in KV so
 * trackers sharing one KV share the bucket (see {@link ThrottleStore.takeRegistration}: built so
 * that registrations never queue behind each other's commits).
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";
import {
  addressGroup,
  REGISTRATION_REFILL_MS,
  REGISTRATIONS_PER_ADDRESS,
} from "../protocol/mod.ts";
import { type BucketState, takeToken } from "./token_bucket.ts";
import type { ThrottleStore } from "./throttle_store.ts";

/** Most addresses remembered; the least recently seen are forgotten beyond this. */
const MAX_KEYS = 100_000;

/** Settings of a {@link RegistrationLimit}; each defaults to the constant of that name. */
export interface RegistrationLimitOptions {
  /** The clock, in ms. */
  now?: () => number;
  /** {@link REGISTRATIONS_PER_ADDRESS}. */
  perAddress?: number;
  /** {@link REGISTRATION_REFILL_MS}. */
  refillMs?: number;
  /** Keep the buckets in this store (shared by trackers) instead of in memory. */
  store?: ThrottleStore;
}

/**
 * A token bucket of registrations per address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RegistrationLimit } from "./registration_limit.ts";
 * let now = 0;
 * const limit = new RegistrationLimit({ now: () => now, perAddress: 2, refillMs: 1000 });
 * assert.equal(await limit.take("192.0.2.1"), 0);
 * assert.equal(await limit.take("192.0.2.1"), 0);
 * assert.equal(await limit.take("192.0.2.1"), 1000);
 * assert.equal(await limit.take("192.0.2.2"), 0);
 * now = 1000;
 * assert.equal(await limit.take("192.0.2.1"), 0);
 * ```
 */
export class RegistrationLimit {
  readonly #buckets = new BoundedMap<string, BucketState>(MAX_KEYS);
  readonly #now: () => number;
  readonly #perAddress: number;
  readonly #refillMs: number;
  readonly #store: ThrottleStore | undefined;

  /** A limit with the given clock and sizes. */
  constructor(options: RegistrationLimitOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#perAddress = options.perAddress ?? REGISTRATIONS_PER_ADDRESS;
    this.#refillMs = options.refillMs ?? REGISTRATION_REFILL_MS;
    this.#store = options.store;
  }

  /**
   * Takes one registration for `address`: 0 if allowed, else the ms until the next one is (and
   * nothing is taken).
   */
  take(address: string): Promise<number> {
    const key = addressGroup(address);
    const now = this.#now();
    if (this.#store) {
      const bucket = { perAddress: this.#perAddress, refillMs: this.#refillMs };
      return this.#store.takeRegistration(key, bucket, now);
    }
    return Promise.resolve(this.#takeHere(key, now));
  }

  #takeHere(key: string, now: number): number {
    const rule = { size: this.#perAddress, refillMs: this.#refillMs };
    const { wait, state } = takeToken(rule, this.#buckets.get(key) ?? null, now);
    this.#buckets.set(key, state); // least recently seen go first
    return wait;
  }
}
