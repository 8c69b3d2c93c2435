/**
 * Downloads in progress, network-wide: every partial holder the tracker lists (a `get` that sends
 * `progress` with what it holds), with its rate from a {@link RateMeter}, whether it is stalled, and
 * the sources it reported transfers from (where known: a download reports its sources as it drops
 * them and when it ends). Read through {@link DashboardSource.partialHolders}, whatever backs it.
 *
 * @module
 */
import type { HolderIndex } from "../tracker/mod.ts";
import { DOWNLOAD_IDLE_MS, RateMeter } from "./rate_meter.ts";
import { formatHostPort } from "./format.ts";
import type { EventLog } from "./event_log.ts";
import type { PartialHolders } from "../tracker/mod.ts";

/** What {@link readDownloads} reads. */
export interface DownloadsSource {
  /** Transfers reported, for the sources of each download. */
  events: EventLog;
  /** Downloads in progress that serve what they have (the tracker's, read only). */
  partialHolders?: PartialHolders;
}

/** One download in progress (`/api/downloads`). */
export interface DownloadView {
  /** Who downloads. */
  user: string;
  /** `HOST:PORT` it serves what it has on. */
  address: string;
  /** The file's name. */
  name: string;
  /** The version's manifest id. */
  id: string;
  /** The version's SHA-256. */
  sha256: string;
  /** The file's size in bytes. */
  size: number;
  /** Share of the file it holds, 0-1. */
  progress: number;
  /** Bytes per second over the last reports, or null before a second report was seen. */
  bytesPerSecond: number | null;
  /** It said no online peer has the chunks it needs, or its reports stopped moving. */
  stalled: boolean;
  /** Why it is marked stalled, when it is. */
  stalledWhy?: "no source" | "no progress";
  /** When it last sent `progress`, ms since the epoch. */
  updatedAt: number;
  /** Users it reported transfers of this version from (those known so far), by name. */
  sources: string[];
}

/** A download with the have-map it sent (for chunk maps; not shown as is). */
export interface LiveDownload {
  /** What the pages show. */
  view: DownloadView;
  /** Which chunks it holds, as sent. */
  have?: string;
}

const meters = new WeakMap<object, RateMeter>();

/** The rate meter kept for `source` (one per dashboard). */
function meterOf(source: object): RateMeter {
  let meter = meters.get(source);
  if (!meter) meters.set(source, meter = new RateMeter());
  return meter;
}

/**
 * Every partial holder of every version in `index`, by file name, then user: downloads in progress,
 * and downloads that finished and seed what they got (`progress` 1; they count as holders, see
 * `counts.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HolderIndex, PartialHolders } from "../tracker/mod.ts";
 * import { EventLog, readDownloads } from "./mod.ts";
 * const downloads = readDownloads(
 *   { events: new EventLog(), partialHolders: new PartialHolders() },
 *   new HolderIndex(),
 *   Date.now(),
 * );
 * assert.deepEqual(downloads, []);
 * ```
 */
export function readDownloads(
  source: DownloadsSource,
  index: HolderIndex,
  now: number,
): LiveDownload[] {
  const partial = source.partialHolders;
  if (!partial) return [];
  const reported = new Map<string, Set<string>>();
  for (const t of source.events.transfers({ since: now - 3600_000 })) {
    if (t.user === null) continue;
    const key = `${t.user}\u0000${t.sha256}`;
    let sources = reported.get(key);
    if (!sources) reported.set(key, sources = new Set());
    sources.add(t.source);
  }
  const meter = meterOf(source);
  const live = new Set<string>();
  const out: LiveDownload[] = [];
  for (const version of index.versions) {
    const holders = [...version.holders.values()];
    for (const p of partial.list(version.name, version.id, holders)) {
      const key = `${p.user}\u0000${version.id}`;
      live.add(key);
      const reading = meter.observe(key, {
        at: p.updatedAt,
        bytes: Math.round(p.progress * version.size),
      });
      const idle = now - reading.movedAt >= DOWNLOAD_IDLE_MS;
      const stalledWhy = p.progress >= 1
        ? undefined
        : p.stalled
        ? "no source"
        : idle
        ? "no progress"
        : undefined;
      out.push({
        view: {
          user: p.user,
          address: formatHostPort(p.host, p.port),
          name: version.name,
          id: version.id,
          sha256: version.sha256,
          size: version.size,
          progress: p.progress,
          // One that said it has no source receives nothing, whatever it received before.
          bytesPerSecond: p.stalled && p.progress < 1 ? 0 : reading.bytesPerSecond,
          stalled: stalledWhy !== undefined,
          ...(stalledWhy ? { stalledWhy } : {}),
          updatedAt: p.updatedAt,
          // What it says it fetches from now, else the sources it reported on.
          sources: p.sources && p.sources.length > 0
            ? [...p.sources]
            : [...reported.get(`${p.user}\u0000${version.sha256}`) ?? []].sort(),
        },
        ...(p.have === undefined ? {} : { have: p.have }),
      });
    }
  }
  meter.retain(live);
  return out;
}
