/**
 * Slowing password guessing without locking anyone out. Failed logins are counted per (user name,
 * address) and per address alone, never per user name alone: a guesser slows itself down, never
 * the real user, who logs in from another address as if nothing happened.
 *
 * - After {@link LOGIN_FREE_FAILURES} failures for one name from one address, or
 *   {@link LOGIN_FREE_FAILURES_PER_ADDRESS} from one address across names, each further attempt
 *   from there must wait twice as long as the last (1 s, 2 s, 4 s, … up to
 *   {@link LOGIN_MAX_DELAY_MS}), counted from the latest failure.
 * - A failure is forgotten {@link LOGIN_FAILURE_WINDOW_MS} (an hour) after it happened, and no wait
 *   is longer than {@link LOGIN_MAX_DELAY_MS} after the latest failure, so a back-off always ends
 *   and cannot be kept up by a slow guesser (one guess every five minutes never has to wait). At
 *   full speed one address gets about 15 guesses an hour at one name, about 30 across names.
 * - A success clears the failures of that name from that address, not those of the address: an
 *   attacker cannot reset its address's count by logging in to an account of its own.
 * - Addresses are grouped by {@link addressGroup} (an IPv6 /64 counts as one address).
 *
 * The failure times live in a {@link FailureStore}: in memory by default, in the tracker's KV
 * when several trackers share one ({@link kvFailureStore}), so guesses spread over them count
 * together; each key expires by itself an hour after its latest failure.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";
import {
  addressGroup,
  LOGIN_FAILURE_WINDOW_MS,
  LOGIN_FREE_FAILURES,
  LOGIN_FREE_FAILURES_PER_ADDRESS,
  LOGIN_MAX_DELAY_MS,
} from "../protocol/mod.ts";
import type { ThrottleStore } from "./throttle_store.ts";

/** Where failure times are kept, by back-off key. */
export interface FailureStore {
  /** The recorded failure times of each key (empty when none). */
  get(keys: string[]): Promise<number[][]>;
  /** Replaces a key's times by `update`'s result (null deletes), atomically; expires after ttl. */
  update(key: string, update: (times: number[]) => number[] | null, ttlMs: number): Promise<void>;
}

/**
 * Failure times in this process's memory, at most {@link MAX_KEYS} keys (least recently failed
 * go first).
 */
export class MemoryFailureStore implements FailureStore {
  readonly #failures = new BoundedMap<string, number[]>(MAX_KEYS);

  /** Times of each key. */
  get(keys: string[]): Promise<number[][]> {
    return Promise.resolve(keys.map((k) => this.#failures.peek(k) ?? []));
  }

  /** Changes a key's times. */
  update(key: string, update: (times: number[]) => number[] | null): Promise<void> {
    const next = update(this.#failures.peek(key) ?? []);
    if (next === null) this.#failures.delete(key);
    else this.#failures.set(key, next); // least recently failed go first
    return Promise.resolve();
  }
}

/** Failure times in the tracker's store, shared by every tracker on it. */
export function kvFailureStore(store: ThrottleStore): FailureStore {
  return {
    get: (keys) => store.loginFailures(keys),
    update: (key, update, ttlMs) => store.updateLoginFailures(key, update, ttlMs),
  };
}

/** Most keys remembered; the oldest are forgotten beyond this, so memory stays bounded. */
const MAX_KEYS = 100_000;

/** Settings of a {@link LoginThrottle}; every field defaults to the constant of that name. */
export interface LoginThrottleOptions {
  /** The clock, in ms. */
  now?: () => number;
  /** {@link LOGIN_FREE_FAILURES}. */
  freeFailures?: number;
  /** {@link LOGIN_FREE_FAILURES_PER_ADDRESS}. */
  freeFailuresPerAddress?: number;
  /** The first wait; each further failure doubles it. Default 1 s. */
  baseDelayMs?: number;
  /** {@link LOGIN_FAILURE_WINDOW_MS}. */
  windowMs?: number;
  /** Where failures are kept; default a {@link MemoryFailureStore}. */
  failures?: FailureStore;
}

/**
 * Counts failed logins per (name, address) and per address and says how long to wait.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LoginThrottle } from "./login_throttle.ts";
 * let now = 0;
 * const throttle = new LoginThrottle({ now: () => now });
 * for (let i = 0; i < 6; i++) await throttle.fail("carol", "127.0.0.2");
 * assert.equal(await throttle.retryAfter("carol", "127.0.0.2"), 1000);
 * // The real user, from another address, is not slowed.
 * assert.equal(await throttle.retryAfter("carol", "127.0.0.1"), 0);
 * now = 1000;
 * assert.equal(await throttle.retryAfter("carol", "127.0.0.2"), 0);
 * ```
 */
export class LoginThrottle {
  readonly #failures: FailureStore;
  readonly #now: () => number;
  readonly #free: number;
  readonly #freePerAddress: number;
  readonly #baseMs: number;
  readonly #windowMs: number;

  /** A throttle with the given clock and limits. */
  constructor(options: LoginThrottleOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#free = options.freeFailures ?? LOGIN_FREE_FAILURES;
    this.#freePerAddress = options.freeFailuresPerAddress ?? LOGIN_FREE_FAILURES_PER_ADDRESS;
    this.#baseMs = options.baseDelayMs ?? 1000;
    this.#windowMs = options.windowMs ?? LOGIN_FAILURE_WINDOW_MS;
    this.#failures = options.failures ?? new MemoryFailureStore();
  }

  /**
   * Milliseconds until `user` may try again from `address` (0: now). Without an address (a
   * caller in this process) only the name counts.
   */
  async retryAfter(user: string, address?: string): Promise<number> {
    const now = this.#now();
    const keys = this.#keys(user, address);
    const all = await this.#failures.get(keys.map(([key]) => key));
    let wait = 0;
    keys.forEach(([, free], i) => {
      const times = this.#recent(all[i] ?? [], now);
      const last = times.at(-1);
      if (last === undefined || times.length <= free) return;
      const delay = Math.min(LOGIN_MAX_DELAY_MS, this.#baseMs * 2 ** (times.length - free - 1));
      wait = Math.max(wait, last + delay - now);
    });
    return Math.max(0, wait);
  }

  /** Records a failed attempt at `user` from `address`. */
  async fail(user: string, address?: string): Promise<void> {
    const now = this.#now();
    await Promise.all(
      this.#keys(user, address).map(([key, free]) =>
        this.#failures.update(key, (stored) => {
          const times = [...this.#recent(stored, now), now];
          // Beyond this many the wait is at its cap anyway.
          const keep = free + Math.ceil(Math.log2(LOGIN_MAX_DELAY_MS / this.#baseMs)) + 2;
          return times.slice(-keep);
        }, this.#windowMs)
      ),
    );
  }

  /** Forgets the failures of `user` from `address` after a successful login. */
  async succeed(user: string, address?: string): Promise<void> {
    const key = this.#keys(user, address)[0][0];
    // Most logins follow no failure: a read, and no write.
    const [times] = await this.#failures.get([key]);
    if (times && times.length > 0) await this.#failures.update(key, () => null, this.#windowMs);
  }

  /** The pair key first, then the address key, each with its free failures. */
  #keys(user: string, address?: string): [[string, number], ...[string, number][]] {
    const group = address === undefined ? "" : addressGroup(address);
    const pair: [string, number] = [`pair\u0000${user.toLowerCase()}\u0000${group}`, this.#free];
    return address === undefined ? [pair] : [pair, [`addr\u0000${group}`, this.#freePerAddress]];
  }

  /** The failures among `times` still inside the window. */
  #recent(times: number[], now: number): number[] {
    return times.filter((t) => now - t < this.#windowMs);
  }
}
