/**
 * Slowing password guessing: after {@link LOGIN_FREE_FAILURES} failed logins for one user name or
 * from one address, each further attempt must wait twice as long as the last (1 s, 2 s, 4 s, … up
 * to 5 min). A success clears the record. Kept in memory: a restart forgets it, which costs an
 * attacker a restart of our tracker, not a way around it. Pure apart from the clock it is given.
 *
 * @module
 */

/** Failures allowed before attempts are slowed. */
export const LOGIN_FREE_FAILURES = 5;

/** The longest wait imposed. */
export const LOGIN_MAX_DELAY_MS = 5 * 60_000;

/** Most keys remembered; the oldest are forgotten beyond this, so memory stays bounded. */
const MAX_KEYS = 100_000;

interface Failures {
  count: number;
  last: number;
}

/**
 * Counts failed logins per key (a user name, an address) and says how long to wait.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LoginThrottle } from "./login_throttle.ts";
 * let now = 0;
 * const throttle = new LoginThrottle({ now: () => now });
 * for (let i = 0; i < 5; i++) throttle.fail(["user:ann"]);
 * assert.equal(throttle.retryAfter(["user:ann"]), 0);
 * throttle.fail(["user:ann"]);
 * assert.equal(throttle.retryAfter(["user:ann"]), 1000);
 * now = 1000;
 * assert.equal(throttle.retryAfter(["user:ann"]), 0);
 * ```
 */
export class LoginThrottle {
  readonly #failures = new Map<string, Failures>();
  readonly #now: () => number;
  readonly #free: number;
  readonly #baseMs: number;

  /** A throttle with the given clock and limits. */
  constructor(options: { now?: () => number; freeFailures?: number; baseDelayMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#free = options.freeFailures ?? LOGIN_FREE_FAILURES;
    this.#baseMs = options.baseDelayMs ?? 1000;
  }

  /** Milliseconds until any of `keys` may try again (0: now). */
  retryAfter(keys: string[]): number {
    const now = this.#now();
    let wait = 0;
    for (const key of keys) {
      const failures = this.#failures.get(key);
      if (!failures || failures.count <= this.#free) continue;
      const delay = Math.min(
        LOGIN_MAX_DELAY_MS,
        this.#baseMs * 2 ** (failures.count - this.#free - 1),
      );
      wait = Math.max(wait, failures.last + delay - now);
    }
    return Math.max(0, wait);
  }

  /** Records a failed attempt for each key. */
  fail(keys: string[]): void {
    const now = this.#now();
    for (const key of keys) {
      const failures = this.#failures.get(key) ?? { count: 0, last: now };
      this.#failures.delete(key); // re-insert: the map's order is oldest first
      this.#failures.set(key, { count: failures.count + 1, last: now });
    }
    while (this.#failures.size > MAX_KEYS) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
  }

  /** Forgets the failures of `keys` after a successful login. */
  succeed(keys: string[]): void {
    for (const key of keys) this.#failures.delete(key);
  }
}
