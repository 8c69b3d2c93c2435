/**
 * Waiting: an abortable sleep and the one back-off rule for retries (exponential with full
 * jitter, capped), so every retry loop in p2pfs waits the same way.
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts (it never rejects: the caller
 * checks `signal.aborted`). An infinite `ms` waits for the signal alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sleep } from "./sleep.ts";
 * const stop = new AbortController();
 * stop.abort();
 * await sleep(60_000, stop.signal); // resolves at once
 * assert.ok(stop.signal.aborted);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** How a retry loop backs off: the first wait, the cap, and the growth per attempt. */
export interface Backoff {
  /** The wait before the first retry's jitter, in ms. */
  readonly firstMs: number;
  /** The longest wait, in ms. */
  readonly maxMs: number;
  /** How much each attempt multiplies the wait by (2 unless given). */
  readonly factor?: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): `firstMs × factor^attempt`,
 * capped at `maxMs`, scaled by `random()` (full jitter, so clients that failed together do not
 * retry together). Pass `() => 1` for the deterministic upper bound.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffMs } from "./sleep.ts";
 * const rule = { firstMs: 2_000, maxMs: 30_000 };
 * assert.equal(backoffMs(rule, 0, () => 1), 2_000);
 * assert.equal(backoffMs(rule, 3, () => 1), 16_000);
 * assert.equal(backoffMs(rule, 10, () => 1), 30_000);
 * assert.equal(backoffMs(rule, 10, () => 0.5), 15_000);
 * ```
 */
export function backoffMs(
  rule: Backoff,
  attempt: number,
  random: () => number = Math.random,
): number {
  const grown = rule.firstMs * (rule.factor ?? 2) ** Math.max(0, attempt);
  return Math.min(rule.maxMs, grown) * random();
}
