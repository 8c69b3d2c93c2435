/**
 * Time as the download engine sees it: the current time, a pause and a repeating timer. The
 * engine (`source_pool.ts`, `source_fetcher.ts`) takes a {@link Clock} so the same decision code
 * runs on the system clock in a real download and on a virtual clock in the swarm simulator
 * (`tests/sim/`), where minutes of a swarm pass in milliseconds and every run replays exactly.
 *
 * @module
 */
import { sleep } from "../common/mod.ts";

/** The time source of the download engine. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/**
 * The system clock: `performance.now()` and real timers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemClock } from "./clock.ts";
 * const before = systemClock.now();
 * await systemClock.sleep(1);
 * assert.ok(systemClock.now() >= before);
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep,
  every(ms: number, fn: () => void): () => void {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};
