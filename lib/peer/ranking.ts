/**
 * Choosing sources: a pure function of what the tracker and a ping told us. The tracker's holder
 * becomes a {@link Candidate} here alone ({@link candidateOf}), whether it came with `details` or
 * was found later; {@link rankHolders} pings the online holders of a file (through the function it
 * is given) and ranks them.
 *
 * score = max(rttMs, 0.05) × 0.75^downloads × 1.25^failures — lowest first. A fast peer with a
 * record of good uploads ranks first; each reported failure makes a peer look 25 % slower.
 *
 * @module
 */
import type { FileDetails, HolderInfo } from "../protocol/mod.ts";
import { PeerError } from "./errors.ts";

/** A possible source for a download. */
export interface Candidate {
  /** Its user name. */
  user: string;
  /** Host to connect to. */
  host: string;
  /** Port to connect to. */
  port: number;
  /** Whether it serves over TLS. */
  tls?: boolean;
  /** Ping round trip, or null when it did not answer. */
  rttMs: number | null;
  /** Successful uploads reported by downloaders. */
  downloads: number;
  /** Failed or corrupt transfers reported by downloaders. */
  failures: number;
  /** A download in progress that serves what it has (a partial holder). */
  partial?: boolean;
}

/**
 * The candidate for a holder the tracker told of, with the round trip its ping took (null: it did
 * not answer, or it was not pinged).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { candidateOf } from "./ranking.ts";
 * const holder = {
 *   user: "bob", host: "127.0.0.1", port: 4000, lastSeen: 0, online: true, downloads: 2,
 *   failures: 0, complete: false,
 * };
 * assert.deepEqual(candidateOf(holder, 1.5), {
 *   user: "bob", host: "127.0.0.1", port: 4000, rttMs: 1.5, downloads: 2, failures: 0,
 *   partial: true,
 * });
 * ```
 */
export function candidateOf(holder: HolderInfo, rttMs: number | null): Candidate {
  return {
    user: holder.user,
    host: holder.host,
    port: holder.port,
    ...(holder.tls ? { tls: true } : {}),
    rttMs,
    downloads: holder.downloads,
    failures: holder.failures,
    ...(holder.complete === false ? { partial: true } : {}),
  };
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

/** Options of {@link rankHolders}. */
export interface RankHoldersOptions {
  /** The round trip to `holder` in ms, or null when it does not answer. */
  ping(holder: HolderInfo): Promise<number | null>;
  /** This peer's user, never a source. */
  self?: string;
  /** Called with the ranking and the holders that did not answer. */
  onRanked?: (ranked: RankedCandidate[], unreachable: Candidate[]) => void;
}

/**
 * Pings every online holder of `details` but this peer (all at once) and ranks those that answer.
 * Throws a `NO_SOURCE` {@link PeerError} when no other holder is online or none answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankHolders } from "./ranking.ts";
 * const holder = { host: "h", port: 1, lastSeen: 0, online: true, downloads: 0, failures: 0 };
 * const details = {
 *   name: "a.bin",
 *   peers: [{ ...holder, user: "far" }, { ...holder, user: "near" }, { ...holder, user: "me" }],
 * };
 * const ranked = await rankHolders(details, {
 *   self: "me",
 *   ping: (h) => Promise.resolve(h.user === "near" ? 1 : 9),
 * });
 * assert.deepEqual(ranked.map((c) => c.user), ["near", "far"]);
 * ```
 */
export async function rankHolders(
  details: Pick<FileDetails, "name" | "peers">,
  options: RankHoldersOptions,
): Promise<RankedCandidate[]> {
  const holders = details.peers.filter((p) => p.online && p.user !== options.self);
  if (holders.length === 0) {
    throw new PeerError(
      "NO_SOURCE",
      `Cannot download ${details.name}: no other peer that has it is online`,
    );
  }
  const pinged = await Promise.all(holders.map(async (p) => candidateOf(p, await options.ping(p))));
  const ranked = rankSources(pinged);
  options.onRanked?.(ranked, pinged.filter((c) => c.rttMs === null));
  if (ranked.length === 0) {
    throw new PeerError(
      "NO_SOURCE",
      `Cannot download ${details.name}: no peer that has it answered a ping`,
    );
  }
  return ranked;
}

/** What a source has actually delivered during a download. */
export interface SourceStats {
  /** Verified bytes delivered. */
  bytes: number;
  /** Moving average of throughput in bytes per second, or null before the first chunk. */
  rate: number | null;
  /** Times it stalled. */
  stalls: number;
  /** Chunks that failed verification. */
  corrupt: number;
}

/** Stats of a source that has delivered nothing yet. */
export function freshStats(): SourceStats {
  return { bytes: 0, rate: null, stalls: 0, corrupt: 0 };
}

/**
 * Folds one delivered chunk into a source's stats: an exponential moving average of throughput
 * with weight `alpha` for the newest sample.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { freshStats, observeChunk } from "./ranking.ts";
 * const once = observeChunk(freshStats(), 1_000_000, 10);
 * assert.equal(once.rate, 100_000_000);
 * assert.equal(observeChunk(once, 1_000_000, 20, 0.5).rate, 75_000_000);
 * ```
 */
export function observeChunk(
  stats: SourceStats,
  bytes: number,
  ms: number,
  alpha = 0.3,
): SourceStats {
  const sample = bytes / (Math.max(ms, 0.01) / 1000);
  return {
    ...stats,
    bytes: stats.bytes + bytes,
    rate: stats.rate === null ? sample : alpha * sample + (1 - alpha) * stats.rate,
  };
}

/**
 * A source's score during a download, lower is better: before it delivers, its ping-and-record
 * score; after, the milliseconds it takes per MiB at its average rate. Each stall multiplies it
 * by 1.25 and each corrupt chunk by 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveScore } from "./ranking.ts";
 * const fast = liveScore(5, { bytes: 1, rate: 200e6, stalls: 0, corrupt: 0 });
 * const slow = liveScore(1, { bytes: 1, rate: 20e6, stalls: 0, corrupt: 0 });
 * assert.ok(fast < slow);
 * ```
 */
export function liveScore(initial: number, stats: SourceStats): number {
  const base = stats.rate === null ? initial : (1024 * 1024) / stats.rate * 1000;
  return base * 1.25 ** stats.stalls * 2 ** stats.corrupt;
}
