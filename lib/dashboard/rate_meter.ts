/**
 * Download rates from the `progress` reports the swarm already sends: each report says how much of
 * the file a downloader holds and when; two reports some seconds apart give its rate, and reports
 * that stop moving show a download that hangs even when it does not say it stalled. The samples
 * live in the dashboard's memory: they are a cache of what the partial holders repeat every few
 * seconds, at most {@link RATE_WINDOW_MS} old, and a dashboard that restarts has a rate again after
 * two reports.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";

/** A rate is measured over the reports of at most this long ago. */
export const RATE_WINDOW_MS = 10_000;

/** A download whose reports show no new byte for this long is marked stalled. */
export const DOWNLOAD_IDLE_MS = 10_000;

/** Most downloads the meter keeps samples of (the least recently seen go first). */
export const MAX_RATE_METER_DOWNLOADS = 20_000;

/** Samples kept per download (one per distinct report time). */
const SAMPLES_PER_DOWNLOAD = 16;

/** What the meter says about one download. */
export interface RateReading {
  /** Bytes per second over the last {@link RATE_WINDOW_MS}, or null before a second report. */
  bytesPerSecond: number | null;
  /** When the download last held more bytes than before (its first report at the latest). */
  movedAt: number;
}

/** One reading of a download: when, and how many bytes it held then. */
export interface Sample {
  /** When, ms. */
  at: number;
  /** Bytes held. */
  bytes: number;
}

interface Track {
  samples: Sample[];
  movedAt: number;
}

/**
 * Rates of downloads in progress, keyed by a string naming the download.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateMeter } from "./rate_meter.ts";
 * const meter = new RateMeter();
 * meter.observe("bo a.bin", { bytes: 0, at: 1_000 });
 * assert.equal(meter.observe("bo a.bin", { bytes: 4_000, at: 3_000 }).bytesPerSecond, 2_000);
 * ```
 */
export class RateMeter {
  /** Tracks by key, least recently observed first. */
  readonly #tracks: BoundedMap<string, Track>;

  /** A meter keeping at most `max` downloads. */
  constructor(max = MAX_RATE_METER_DOWNLOADS) {
    this.#tracks = new BoundedMap(max);
  }

  /** How many downloads it keeps samples of. */
  get size(): number {
    return this.#tracks.size;
  }

  /** Takes in a report (`bytes` held at `at`; the same report again is ignored) and reads. */
  observe(key: string, sample: Sample): RateReading {
    let track = this.#tracks.get(key); // a use: the least recently observed go first
    if (!track) {
      track = { samples: [], movedAt: sample.at };
      this.#tracks.set(key, track);
    }
    const last = track.samples.at(-1);
    if (!last || sample.at > last.at) {
      if (last && sample.bytes > last.bytes) track.movedAt = sample.at;
      if (last && sample.bytes < last.bytes) track.samples = []; // it started over
      track.samples.push(sample);
      if (track.samples.length > SAMPLES_PER_DOWNLOAD) track.samples.shift();
    }
    const newest = track.samples.at(-1)!;
    const oldest = track.samples.find((s) => newest.at - s.at <= RATE_WINDOW_MS) ?? newest;
    const seconds = (newest.at - oldest.at) / 1000;
    return {
      bytesPerSecond: seconds > 0 ? Math.max(0, (newest.bytes - oldest.bytes) / seconds) : null,
      movedAt: track.movedAt,
    };
  }

  /** Forgets every download not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const key of [...this.#tracks.keys()]) if (!live.has(key)) this.#tracks.delete(key);
  }
}
