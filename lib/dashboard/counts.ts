/**
 * Every count the dashboard shows, defined once. Each page and the JSON API take their numbers from
 * these functions, so two pages never disagree about the same thing:
 *
 * | count            | what it counts                                                              |
 * |------------------|-----------------------------------------------------------------------------|
 * | holders          | peers that announced the whole version, online or not, and downloads that finished and seed it |
 * | downloading      | downloads of the version in progress (a `get` sending `progress`, not yet whole) |
 * | sources online   | online holders, and downloads in progress that hold a chunk (they serve it) |
 * | stalled          | downloads in progress that said no online peer has what they need, or whose reports stopped moving |
 * | peers online     | peers online by their heartbeat, and users downloading (or seeding what they downloaded) now |
 * | transfers        | downloads in progress (live), or transfers reported in the chart's window |
 *
 * @module
 */
import type { MinuteBucket } from "./event_log.ts";

/** What a count needs to know of one download in progress. */
export interface DownloadState {
  /** Who downloads. */
  user: string;
  /** Share of the file it holds, 0-1. */
  progress: number;
  /** Whether it is marked stalled. */
  stalled: boolean;
}

/** The counts of one version's swarm. */
export interface SwarmCounts {
  /** Peers holding the whole version, online or not (with finished downloads that seed). */
  holders: number;
  /** Of those, and of the downloads holding a chunk, the ones that can serve now. */
  sourcesOnline: number;
  /** Downloads in progress. */
  downloading: number;
  /** Of those, the stalled ones. */
  stalled: number;
}

/**
 * The counts of one version: `holders` are the users that announced it whole, `online` says who of
 * them is online, `downloads` are its downloads in progress (none of them among `holders`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countSwarm } from "./counts.ts";
 * const counts = countSwarm(["ann", "bob"], (user) => user === "ann", [
 *   { user: "cy", progress: 0.5, stalled: false },
 *   { user: "di", progress: 0, stalled: true },
 *   { user: "ed", progress: 1, stalled: false },
 * ]);
 * assert.deepEqual(counts, { holders: 3, sourcesOnline: 3, downloading: 2, stalled: 1 });
 * ```
 */
export function countSwarm(
  holders: Iterable<string>,
  online: (user: string) => boolean,
  downloads: readonly DownloadState[],
): SwarmCounts {
  let whole = 0;
  let sourcesOnline = 0;
  for (const user of holders) {
    whole++;
    if (online(user)) sourcesOnline++;
  }
  let downloading = 0;
  let stalled = 0;
  for (const d of downloads) {
    if (d.progress > 0) sourcesOnline++;
    if (d.progress >= 1) {
      whole++;
      continue;
    }
    downloading++;
    if (d.stalled) stalled++;
  }
  return { holders: whole, sourcesOnline, downloading, stalled };
}

/** Whether a download counts as in progress (not yet whole). */
export function inProgress(download: DownloadState): boolean {
  return download.progress < 1;
}

/** The peers counts of the whole network. */
export interface PeerCounts {
  /** Peers online by their heartbeat, and users downloading now. */
  online: number;
  /** Peers that ever announced, and users downloading now. */
  total: number;
}

/**
 * Every user the dashboard knows, and whether it counts as online: `announced` maps each user that
 * announced to whether it is online by its heartbeat (the tracker's `isOnline`); `downloaders` are
 * the partial holders' users, downloading or seeding what they downloaded, online whether they
 * announced or not. The peers table's status and the peers-online count both come from here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { peersOnline } from "./counts.ts";
 * const announced = new Map([["ann", true], ["bob", false]]);
 * assert.deepEqual(
 *   [...peersOnline(announced, ["bob", "cy", "cy"])],
 *   [["ann", true], ["bob", true], ["cy", true]],
 * );
 * ```
 */
export function peersOnline(
  announced: ReadonlyMap<string, boolean>,
  downloaders: Iterable<string>,
): Map<string, boolean> {
  const online = new Map(announced);
  for (const user of downloaders) online.set(user, true);
  return online;
}

/**
 * Peers online and known, from each known user's online flag ({@link peersOnline}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countPeers } from "./counts.ts";
 * const online = new Map([["ann", true], ["bob", false], ["cy", true]]);
 * assert.deepEqual(countPeers(online), { online: 2, total: 3 });
 * ```
 */
export function countPeers(online: ReadonlyMap<string, boolean>): PeerCounts {
  let count = 0;
  for (const on of online.values()) if (on) count++;
  return { online: count, total: online.size };
}

/** Transfers reported within the chart's window. */
export interface WindowCounts {
  /** Transfers that worked. */
  ok: number;
  /** Transfers that failed. */
  failed: number;
  /** Bytes reported. */
  bytes: number;
}

/**
 * The transfers of a window of minutes (the chart's): the card beside the chart and the chart's
 * own total both come from here, so they agree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countWindow } from "./counts.ts";
 * const buckets = [{ start: 0, ok: 2, failed: 1, bytes: 10 }, { start: 60_000, ok: 4, failed: 0, bytes: 5 }];
 * assert.deepEqual(countWindow(buckets), { ok: 6, failed: 1, bytes: 15 });
 * ```
 */
export function countWindow(buckets: readonly MinuteBucket[]): WindowCounts {
  let ok = 0;
  let failed = 0;
  let bytes = 0;
  for (const b of buckets) {
    ok += b.ok;
    failed += b.failed;
    bytes += b.bytes;
  }
  return { ok, failed, bytes };
}
