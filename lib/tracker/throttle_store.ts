/**
 * The throttles role of the tracker's store: failed-login times per back-off key and the
 * registration bucket of each address group, shared by every tracker on one KV so that guesses
 * and registrations spread over them count together; behind {@link ThrottleStore}, kept in KV by
 * {@link KvThrottleStore} (keys `login_failures`, `registrations`, `registrations_used`, each
 * expiring by itself; see the table in `kv_plumbing.ts`).
 *
 * @module
 */
import { type KvPlumbing, RETRY, retrying, StoreError } from "./kv_plumbing.ts";
import { takeToken } from "./token_bucket.ts";

/** A registration bucket's settings: `perAddress` at once, then one per `refillMs`. */
export interface RegistrationBucket {
  /** Registrations one address group may make at once. */
  perAddress: number;
  /** One more per this many ms. */
  refillMs: number;
}

/** Login back-off and registration buckets. */
export interface ThrottleStore {
  /** Recent failure times of each back-off key (empty when none). */
  loginFailures(keys: string[]): Promise<number[][]>;
  /**
   * Changes a back-off key's failure times by `update` (null deletes it), atomically against
   * other trackers; the key expires `ttlMs` after the write.
   */
  updateLoginFailures(
    key: string,
    update: (times: number[]) => number[] | null,
    ttlMs: number,
  ): Promise<void>;
  /**
   * Takes one registration from the token bucket of an address group (`perAddress` at once, then
   * one per `refillMs`): 0 if allowed, else ms until one is (nothing taken).
   */
  takeRegistration(group: string, bucket: RegistrationBucket, now: number): Promise<number>;
}

/**
 * {@link ThrottleStore} on Deno KV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvStores } from "./store.ts";
 * await using stores = await openKvStores(":memory:");
 * const bucket = { perAddress: 1, refillMs: 1000 };
 * assert.equal(await stores.throttles.takeRegistration("192.0.2.0", bucket, 0), 0);
 * assert.equal(await stores.throttles.takeRegistration("192.0.2.0", bucket, 250), 750);
 * ```
 */
export class KvThrottleStore implements ThrottleStore {
  readonly #kv: KvPlumbing;

  /** Throttles kept through `plumbing`. */
  constructor(plumbing: KvPlumbing) {
    this.#kv = plumbing;
  }

  /** Recent failure times of each key. */
  async loginFailures(keys: string[]): Promise<number[][]> {
    const entries = await this.#kv.getMany<number[]>(keys.map((k) => ["login_failures", k]));
    return entries.map((e) => e.value ?? []);
  }

  /** Changes a key's failure times, atomically against other trackers. */
  updateLoginFailures(
    key: string,
    update: (times: number[]) => number[] | null,
    ttlMs: number,
  ): Promise<void> {
    const kvKey = ["login_failures", key];
    return this.#kv.oneAtATime(`login_failures\u0000${key}`, () =>
      retrying(async () => {
        const entry = await this.#kv.kv.get<number[]>(kvKey);
        const next = update(entry.value ?? []);
        const op = this.#kv.atomic().check(entry);
        if (next === null) op.delete(kvKey);
        else op.set(kvKey, next, { expireIn: Math.max(1, ttlMs) });
        return (await op.commit()).ok ? undefined : RETRY;
      }, () => {
        throw new StoreError("CONTENDED", "Cannot record a login failure: the key keeps changing");
      }));
  }

  /** Takes one registration from an address group's bucket. */
  takeRegistration(group: string, bucket: RegistrationBucket, now: number): Promise<number> {
    // A token bucket shared by trackers without a queue of read-modify-writes: the tokens used are
    // an atomic sum (takes never conflict), and the record only says from when the bucket fills,
    // rewritten (with a check) only when the bucket is full anyway. Registrations running at once
    // may take as many tokens more as run at once.
    const rule = { size: bucket.perAddress, refillMs: bucket.refillMs };
    const recordKey = ["registrations", group];
    const usedKey = ["registrations_used", group];
    return retrying(async () => {
      const [record, usedEntry] = await this.#kv.kv.getMany<
        [{ start: number; base: number }, Deno.KvU64]
      >([recordKey, usedKey]);
      const used = Number(usedEntry.value?.value ?? 0n);
      const state = record.value;
      const take = takeToken(rule, state && { start: state.start, taken: used - state.base }, now);
      if (take.restarted) {
        // Full (or new): start counting afresh from now, then take.
        const result = await this.#kv.atomic().check(record)
          .set(recordKey, { start: now, base: used }, { expireIn: rule.size * rule.refillMs })
          .commit();
        if (!result.ok) return RETRY;
      }
      if (take.wait > 0) return take.wait;
      await this.#kv.atomic().sum(usedKey, 1n).commit();
      return 0;
    }, () => {
      throw new StoreError("CONTENDED", "Cannot take a registration: the bucket keeps changing");
    });
  }
}
