/**
 * How the peer commands round a measured number (milliseconds, seconds, scores) for output:
 * to thousandths, so JSON and text show the same value without float noise.
 *
 * @module
 */

/**
 * `n` rounded to three decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thousandths } from "./thousandths.ts";
 * assert.equal(thousandths(1.23456), 1.235);
 * ```
 */
export function thousandths(n: number): number {
  return Math.round(n * 1000) / 1000;
}
