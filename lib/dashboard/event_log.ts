/**
 * Recent transfers with their reasons, requests by type and outcome, request latencies, failed
 * logins and bytes reported transferred. {@link EventLog} is fed {@link TrackerEvent}s (from
 * `startTracker({ onEvent })`), holds them in memory, and tells subscribers about each one; a
 * tracker sharing a store feeds it through `SharedEvents`, which also adds the transfers other
 * trackers took (so every tracker's pages list the same) and sums every tracker's counters for
 * `/metrics`.
 *
 * @module
 */
import type { StoredTransfer, TrackerEvent } from "../tracker/mod.ts";

/**
 * One `report` a downloader sent: a transfer from one source, that worked or failed (the record
 * the tracker stores, so every tracker sharing a store lists the same).
 */
export type TransferRecord = StoredTransfer;

/** A latency histogram: cumulative-ready bucket counts, a sum and a count. */
export interface Histogram {
  /** Count of observations at or below each of {@link LATENCY_BUCKETS_S}, not cumulative. */
  buckets: number[];
  /** Sum of all observations, in seconds. */
  sum: number;
  /** How many observations. */
  count: number;
}

/** Counters since the tracker started, for `/metrics`. */
export interface Counters {
  /** Requests answered, by `type` then outcome (`ok` or an error code). */
  requests: Map<string, Map<string, number>>;
  /** Request latencies, by `type`. */
  latency: Map<string, Histogram>;
  /** `login` requests refused. */
  loginsFailed: number;
  /** Accepted reports of a transfer that worked. */
  transfersOk: number;
  /** Accepted reports of a transfer that failed, by reason (`unknown` when none was given). */
  transfersFailed: Map<string, number>;
  /** Bytes in accepted reports. */
  bytesReported: number;
}

/**
 * Counters at zero: the start of a tracker's own, and of the sum of every tracker's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addRequests, emptyCounters, latencyHistogram } from "./event_log.ts";
 * const counters = emptyCounters();
 * addRequests(counters, "list", "ok", 2);
 * latencyHistogram(counters, "list").count++;
 * assert.equal(counters.requests.get("list")?.get("ok"), 2);
 * assert.equal(counters.latency.get("list")?.count, 1);
 * ```
 */
export function emptyCounters(): Counters {
  return {
    requests: new Map(),
    latency: new Map(),
    loginsFailed: 0,
    transfersOk: 0,
    transfersFailed: new Map(),
    bytesReported: 0,
  };
}

/** Adds `n` requests of `type` answered with `outcome` to `counters`. */
export function addRequests(counters: Counters, type: string, outcome: string, n: number): void {
  const byOutcome = counters.requests.get(type) ?? new Map<string, number>();
  byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + n);
  counters.requests.set(type, byOutcome);
}

/** The latency histogram of `type` in `counters`, added empty when there is none yet. */
export function latencyHistogram(counters: Counters, type: string): Histogram {
  let histogram = counters.latency.get(type);
  if (!histogram) {
    histogram = { buckets: LATENCY_BUCKETS_S.map(() => 0), sum: 0, count: 0 };
    counters.latency.set(type, histogram);
  }
  return histogram;
}

/** One minute of the transfers chart. */
export interface MinuteBucket {
  /** Start of the minute, ms since the epoch. */
  start: number;
  /** Transfers that worked. */
  ok: number;
  /** Transfers that failed. */
  failed: number;
  /** Bytes reported. */
  bytes: number;
}

/** Upper bounds of the latency histogram's buckets, in seconds (`+Inf` is implied). */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];

/** Settings of an {@link EventLog}. */
export interface EventLogOptions {
  /** How many transfers to keep (the oldest go first). Default 10 000. */
  capacity?: number;
  /** The clock, ms since the epoch. */
  now?: () => number;
}

/**
 * Recent transfers and counters, fed by tracker events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventLog } from "./event_log.ts";
 * const log = new EventLog();
 * log.record({ type: "login", user: "ann", outcome: "AUTH_FAILED", at: Date.now(), ms: 40 });
 * assert.equal(log.counters().loginsFailed, 1);
 * ```
 */
export class EventLog {
  /** When the log started, ms since the epoch. */
  readonly startedAt: number;
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #transfers: TransferRecord[] = [];
  readonly #listeners = new Set<(event: TrackerEvent) => void>();
  readonly #counters: Counters = emptyCounters();

  /** An empty log. */
  constructor(options: EventLogOptions = {}) {
    this.#capacity = options.capacity ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.startedAt = this.#now();
  }

  /** The clock this log reads. */
  now(): number {
    return this.#now();
  }

  /** Takes in one event and tells every subscriber. */
  record(event: TrackerEvent): void {
    const c = this.#counters;
    addRequests(c, event.type, event.outcome, 1);
    const histogram = latencyHistogram(c, event.type);
    const seconds = Math.max(0, event.ms) / 1000;
    const bucket = LATENCY_BUCKETS_S.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) histogram.buckets[bucket]!++;
    histogram.sum += seconds;
    histogram.count++;
    if (event.type === "login" && event.outcome !== "ok") c.loginsFailed++;
    if (event.report) {
      const r = event.report;
      if (event.outcome === "ok") {
        if (r.ok) c.transfersOk++;
        else {
          const reason = r.reason ?? "unknown";
          c.transfersFailed.set(reason, (c.transfersFailed.get(reason) ?? 0) + 1);
        }
        c.bytesReported += r.bytes;
      }
      this.#transfers.push({ at: event.at, user: event.user, ...r, outcome: event.outcome });
      if (this.#transfers.length > this.#capacity) {
        this.#transfers.splice(0, this.#transfers.length - this.#capacity);
      }
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // one listener's bug must not starve the others
      }
    }
  }

  /**
   * Adds a transfer another tracker took (read from the store), in time order, without counting
   * it here; tells subscribers as a `report` event.
   */
  addTransfer(record: TransferRecord): void {
    let i = this.#transfers.length;
    while (i > 0 && this.#transfers[i - 1]!.at > record.at) i--;
    this.#transfers.splice(i, 0, record);
    if (this.#transfers.length > this.#capacity) {
      this.#transfers.splice(0, this.#transfers.length - this.#capacity);
    }
    const { at, user, outcome, name, sha256, source, ok, bytes, reason } = record;
    const event: TrackerEvent = {
      type: "report",
      user,
      outcome,
      at,
      ms: 0,
      report: { name, sha256, source, ok, bytes, reason },
    };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // one listener's bug must not starve the others
      }
    }
  }

  /**
   * Accepted transfers, newest first: those of file `name` if given, at or after `since`, at most
   * `limit` (default all).
   */
  transfers(options: { name?: string; since?: number; limit?: number } = {}): TransferRecord[] {
    const out: TransferRecord[] = [];
    const limit = options.limit ?? Infinity;
    for (let i = this.#transfers.length - 1; i >= 0 && out.length < limit; i--) {
      const t = this.#transfers[i]!;
      if (options.since !== undefined && t.at < options.since) break;
      if (t.outcome !== "ok") continue;
      if (options.name !== undefined && t.name !== options.name) continue;
      out.push(t);
    }
    return out;
  }

  /** Transfers per minute over the last `minutes` minutes, oldest first (the last is this one). */
  perMinute(minutes = 60): MinuteBucket[] {
    const thisMinute = Math.floor(this.#now() / 60_000) * 60_000;
    const first = thisMinute - (minutes - 1) * 60_000;
    const buckets: MinuteBucket[] = Array.from(
      { length: minutes },
      (_, i) => ({ start: first + i * 60_000, ok: 0, failed: 0, bytes: 0 }),
    );
    for (const t of this.transfers({ since: first })) {
      const bucket = buckets[Math.floor((t.at - first) / 60_000)];
      if (!bucket) continue;
      if (t.ok) bucket.ok++;
      else bucket.failed++;
      bucket.bytes += t.bytes;
    }
    return buckets;
  }

  /** The counters since the log started (a live view: do not change it). */
  counters(): Readonly<Counters> {
    return this.#counters;
  }

  /** Calls `listener` with every event from now on; returns the function that stops it. */
  subscribe(listener: (event: TrackerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
