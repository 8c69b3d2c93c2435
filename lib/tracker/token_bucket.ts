/**
 * The token-bucket rule, in one place for every bucket the tracker keeps (registrations per
 * address, in memory or in KV): a bucket holds at most `size` tokens and gains one every
 * `refillMs`; taking needs a whole token. A bucket's state is when it was last full and how many
 * tokens were taken since, so a store that sums the takes atomically (KV) and one that keeps the
 * state in memory compute the same answers with the same arithmetic.
 *
 * @module
 */

/** A bucket's shape: how many tokens it holds at most, and how fast it refills. */
export interface BucketRule {
  /** Tokens it holds when full (the burst). */
  readonly size: number;
  /** One more token per this many ms, up to `size`. */
  readonly refillMs: number;
}

/** Where a bucket stands: full at `start`, and `taken` tokens taken since. */
export interface BucketState {
  /** When the bucket was last full, ms since the epoch. */
  readonly start: number;
  /** Tokens taken since `start`. */
  readonly taken: number;
}

/** What {@link takeToken} decided. */
export interface BucketTake {
  /** 0 when a token was taken, else ms until one can be (nothing taken). */
  readonly wait: number;
  /** The bucket's state afterwards. */
  readonly state: BucketState;
  /** Whether the bucket was full, so its state starts afresh from now. */
  readonly restarted: boolean;
}

/**
 * Takes one token at `now` from a bucket in `state` (null: never used, so full): the tokens are
 * `size` plus one per `refillMs` since `start`, less those taken, and never more than `size`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { takeToken } from "./token_bucket.ts";
 * const rule = { size: 2, refillMs: 1000 };
 * let take = takeToken(rule, null, 0);
 * assert.deepEqual([take.wait, take.state], [0, { start: 0, taken: 1 }]);
 * take = takeToken(rule, take.state, 0);
 * take = takeToken(rule, take.state, 250);
 * assert.equal(take.wait, 750);
 * take = takeToken(rule, take.state, 60_000); // full again: starts afresh
 * assert.deepEqual([take.wait, take.state, take.restarted], [0, { start: 60_000, taken: 1 }, true]);
 * ```
 */
export function takeToken(rule: BucketRule, state: BucketState | null, now: number): BucketTake {
  const tokens = state === null
    ? rule.size
    : Math.min(rule.size, rule.size + (now - state.start) / rule.refillMs - state.taken);
  const restarted = state === null || tokens >= rule.size;
  const from = restarted ? { start: now, taken: 0 } : state;
  if (tokens < 1) return { wait: Math.ceil((1 - tokens) * rule.refillMs), state: from, restarted };
  return { wait: 0, state: { start: from.start, taken: from.taken + 1 }, restarted };
}
