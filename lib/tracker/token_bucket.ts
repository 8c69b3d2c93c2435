/**
 * The token-bucket refill rule, in one place for every bucket the tracker keeps (registrations
 * per address, in memory or in KV): a bucket holds at most `size` tokens and gains one every
 * `refillMs`; taking needs a whole token.
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

/**
 * The tokens a bucket holds at `now`, given that it held `tokens` at `at`: refilled by one per
 * `refillMs` since, and never more than `size`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokensAt } from "./token_bucket.ts";
 * const rule = { size: 3, refillMs: 1000 };
 * assert.equal(tokensAt(rule, { tokens: 0, at: 0 }, 1500), 1.5);
 * assert.equal(tokensAt(rule, { tokens: 2, at: 0 }, 60_000), 3);
 * ```
 */
export function tokensAt(
  rule: BucketRule,
  held: { readonly tokens: number; readonly at: number },
  now: number,
): number {
  return Math.min(rule.size, held.tokens + (now - held.at) / rule.refillMs);
}

/**
 * How long until a bucket holding `tokens` holds a whole one: 0 when it already does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { waitForToken } from "./token_bucket.ts";
 * const rule = { size: 3, refillMs: 1000 };
 * assert.equal(waitForToken(rule, 0.25), 750);
 * assert.equal(waitForToken(rule, 1), 0);
 * ```
 */
export function waitForToken(rule: BucketRule, tokens: number): number {
  return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * rule.refillMs);
}
