/**
 * Choosing sources: a pure function of what the tracker and a ping told us.
 *
 * score = max(rttMs, 0.05) × 0.75^downloads × 1.25^failures — lowest first. A fast peer with a
 * record of good uploads ranks first; each reported failure makes a peer look 25 % slower.
 *
 * @module
 */

/** A possible source for a download. */
export interface Candidate {
  /** Its user name. */
  user: string;
  /** Host to connect to. */
  host: string;
  /** Port to connect to. */
  port: number;
  /** Ping round trip, or null when it did not answer. */
  rttMs: number | null;
  /** Successful uploads reported by downloaders. */
  downloads: number;
  /** Failed or corrupt transfers reported by downloaders. */
  failures: number;
}

/** A candidate with its score. */
export interface RankedCandidate extends Candidate {
  /** Lower is better. */
  score: number;
}

/**
 * The score of one reachable candidate (lower is better).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourceScore } from "./ranking.ts";
 * const base = { rttMs: 2, downloads: 0, failures: 0 };
 * assert.ok(sourceScore({ ...base, downloads: 1 }) < sourceScore(base));
 * assert.ok(sourceScore({ ...base, failures: 1 }) > sourceScore(base));
 * ```
 */
export function sourceScore(c: { rttMs: number; downloads: number; failures: number }): number {
  return Math.max(c.rttMs, 0.05) * 0.75 ** c.downloads * 1.25 ** c.failures;
}

/**
 * Ranks candidates best first, leaving out those that did not answer the ping; ties are broken
 * by user name so the order is stable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankSources } from "./ranking.ts";
 * const ranked = rankSources([
 *   { user: "slow", host: "h", port: 1, rttMs: 9, downloads: 0, failures: 0 },
 *   { user: "fast", host: "h", port: 2, rttMs: 1, downloads: 0, failures: 0 },
 *   { user: "gone", host: "h", port: 3, rttMs: null, downloads: 9, failures: 0 },
 * ]);
 * assert.ok(ranked.map((c) => c.user).join() === "fast,slow");
 * ```
 */
export function rankSources(candidates: readonly Candidate[]): RankedCandidate[] {
  return candidates
    .filter((c): c is Candidate & { rttMs: number } => c.rttMs !== null)
    .map((c) => ({ ...c, score: sourceScore(c) }))
    .sort((a, b) => a.score - b.score || a.user.localeCompare(b.user));
}
