/**
 * Bandwidth limits: a token bucket shared by every connection of a process, so the limit holds
 * for the sum of them. Tokens are bytes; they refill continuously at `bytesPerSecond` up to a burst
 * of a quarter second's worth (at least 64 KiB), which keeps the flow smooth.
 *
 * @module
 */
import { sleep } from "../common/mod.ts";

/** How a typed rate (`20MB/s`) is read: the one rule, in `lib/common/units.ts`. */
export { parseRate } from "../common/units.ts";

/**
 * A token bucket of bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimiter } from "./rate_limiter.ts";
 * let now = 0;
 * const bucket = new RateLimiter(1000, { burst: 1000, now: () => now });
 * assert.equal(bucket.delayFor(1000), 0);
 * bucket.consume(1000);
 * assert.equal(bucket.delayFor(500), 500);
 * now = 500;
 * assert.equal(bucket.delayFor(500), 0);
 * ```
 */
export class RateLimiter {
  /** The refill rate in bytes per second. */
  readonly bytesPerSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  /** A bucket that starts full. */
  constructor(bytesPerSecond: number, options: { burst?: number; now?: () => number } = {}) {
    this.bytesPerSecond = bytesPerSecond;
    this.#burst = options.burst ?? Math.max(64 * 1024, bytesPerSecond / 4);
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  /** Milliseconds until `bytes` tokens are there (0 if they are now). */
  delayFor(bytes: number): number {
    this.#refill();
    const missing = Math.min(bytes, this.#burst) - this.#tokens;
    return missing <= 0 ? 0 : (missing / this.bytesPerSecond) * 1000;
  }

  /** Takes `bytes` tokens; the balance may go negative, which delays the next callers. */
  consume(bytes: number): void {
    this.#refill();
    this.#tokens -= bytes;
  }

  /** Waits until `bytes` may pass, then takes them. Callers are served in order. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (let wait = this.delayFor(bytes); wait > 0; wait = this.delayFor(bytes)) {
        signal?.throwIfAborted();
        await sleep(Math.ceil(wait));
      }
      this.consume(bytes);
    });
    this.#queue = turn.catch(() => {});
    return turn;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#last) / 1000) * this.bytesPerSecond,
    );
    this.#last = now;
  }
}
