/**
 * One truth for the dashboards of every tracker on one KV: {@link SharedEvents} takes this
 * tracker's events into its {@link EventLog} and, in batches every {@link SHARED_EVENTS_MS}, writes
 * them to the store: the reported transfers (which expire after `TRANSFER_RETENTION_MS`) and the
 * counters `/metrics` shows (latency histograms, failed logins, transfers by outcome and reason,
 * bytes reported; requests by type and outcome are written by the service). It reads back the
 * transfers other trackers took into the same {@link EventLog}, so every tracker's pages list the
 * same transfers, and {@link SharedEvents.counters} sums every tracker's counters, so every
 * tracker's `/metrics` shows the same totals, within about a second.
 *
 * Transfers are keyed by the time they were reported: one whose commit lands more than
 * {@link TRANSFER_OVERLAP_MS} late on another tracker is not shown there (it is still counted in
 * the metrics, which are sums). The pages are a view; the change log, which must not skip
 * anything, is numbered per writer instead.
 *
 * @module
 */
import type { StoredTransfer, TrackerEvent, TrackerStore } from "../tracker/mod.ts";
import { type Counters, type EventLog, type Histogram, LATENCY_BUCKETS_S } from "./event_log.ts";

/** How often the shared events are written and the other trackers' transfers read. */
export const SHARED_EVENTS_MS = 250;

/** How far before the newest transfer read each read of the others' transfers starts. */
export const TRANSFER_OVERLAP_MS = 5_000;

/** Transfers read per request to the store. */
const READ_BATCH = 1_000;

/** Counter names this module writes start with this (the service's are `type:outcome`). */
export const SHARED_COUNTER_PREFIX = "#";

/**
 * This tracker's events, shared with every tracker on the store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventLog, SharedEvents } from "./mod.ts";
 * import { KvTrackerStore } from "../tracker/mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const shared = new SharedEvents(new EventLog(), store, "one");
 * shared.record({ type: "login", user: "ann", outcome: "AUTH_FAILED", at: Date.now(), ms: 4 });
 * await shared.sync();
 * assert.equal((await shared.counters()).loginsFailed, 1);
 * ```
 */
export class SharedEvents {
  readonly #events: EventLog;
  readonly #store: TrackerStore;
  readonly #tracker: string;
  /** Counter increments not written yet. */
  readonly #counts = new Map<string, number>();
  /** Transfers not written yet. */
  #transfers: StoredTransfer[] = [];
  #written = 0;
  /** Others' transfers added, by `tracker NUL n`, with their time (trimmed to the overlap). */
  readonly #seen = new Map<string, number>();
  #newest = -Infinity;
  #loaded = false;
  #syncing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Feeds `events` and shares through `store` under this tracker's name `tracker`. */
  constructor(events: EventLog, store: TrackerStore, tracker: string) {
    this.#events = events;
    this.#store = store;
    this.#tracker = tracker;
  }

  /** Takes in one of this tracker's events. */
  record(event: TrackerEvent): void {
    this.#events.record(event);
    const seconds = Math.max(0, event.ms) / 1000;
    const bucket = LATENCY_BUCKETS_S.findIndex((bound) => seconds <= bound);
    const add = (name: string, n: number) =>
      this.#counts.set(name, (this.#counts.get(name) ?? 0) + n);
    add(`#latency:${event.type}:${bucket < 0 ? "inf" : bucket}`, 1);
    add(`#latency_us:${event.type}`, Math.round(seconds * 1e6));
    if (event.type === "login" && event.outcome !== "ok") add("#logins_failed", 1);
    const r = event.report;
    if (!r) return;
    if (event.outcome === "ok") {
      add(r.ok ? "#transfers_ok" : `#transfers_failed:${r.reason ?? "unknown"}`, 1);
      add("#bytes_reported", r.bytes);
    }
    this.#transfers.push({ at: event.at, user: event.user, ...r, outcome: event.outcome });
  }

  /** Writes what this tracker took, then reads what the others took. Calls share one run. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => this.#syncing = undefined);
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const transfers = this.#transfers;
    this.#transfers = [];
    const counts = new Map(this.#counts);
    this.#counts.clear();
    const first = this.#written;
    this.#written += transfers.length;
    await Promise.all([
      transfers.length > 0 ? this.#store.putTransfers(this.#tracker, first, transfers) : null,
      counts.size > 0 ? this.#store.addCounters(this.#tracker, counts) : null,
    ]);
    await this.#readOthers();
  }

  /** Adds the transfers other trackers took since the last read (the last hour at first). */
  async #readOthers(): Promise<void> {
    let since = this.#loaded ? this.#newest - TRANSFER_OVERLAP_MS : this.#events.now() - 3600_000;
    while (true) {
      const batch = await this.#store.listTransfers(since, READ_BATCH);
      for (const { tracker, n, transfer } of batch) {
        if (tracker === this.#tracker) continue;
        const key = `${tracker}\u0000${n}\u0000${transfer.at}`;
        if (this.#seen.has(key)) continue;
        this.#seen.set(key, transfer.at);
        this.#newest = Math.max(this.#newest, transfer.at);
        this.#events.addTransfer(transfer);
      }
      if (batch.length < READ_BATCH) break;
      since = batch.at(-1)!.transfer.at;
    }
    this.#loaded = true;
    for (const [key, at] of this.#seen) {
      if (at < this.#newest - TRANSFER_OVERLAP_MS) this.#seen.delete(key);
    }
  }

  /** The counters of every tracker on the store, summed (as of their last writes). */
  async counters(): Promise<Counters> {
    const all = await this.#store.readCounters();
    const counters: Counters = {
      requests: new Map(),
      latency: new Map(),
      loginsFailed: 0,
      transfersOk: 0,
      transfersFailed: new Map(),
      bytesReported: 0,
    };
    const histogram = (type: string): Histogram => {
      let h = counters.latency.get(type);
      if (!h) {
        counters.latency.set(
          type,
          h = { buckets: LATENCY_BUCKETS_S.map(() => 0), sum: 0, count: 0 },
        );
      }
      return h;
    };
    for (const names of all.values()) {
      for (const [name, n] of names) {
        if (!name.startsWith(SHARED_COUNTER_PREFIX)) {
          const [type, outcome] = splitOnce(name);
          const byOutcome = counters.requests.get(type) ?? new Map<string, number>();
          byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + n);
          counters.requests.set(type, byOutcome);
          continue;
        }
        const [kind, rest] = splitOnce(name.slice(1));
        if (kind === "latency") {
          const [type, bucket] = splitLast(rest);
          const h = histogram(type);
          h.count += n;
          const i = Number(bucket);
          if (bucket !== "inf" && h.buckets[i] !== undefined) h.buckets[i] += n;
        } else if (kind === "latency_us") histogram(rest).sum += n / 1e6;
        else if (kind === "logins_failed") counters.loginsFailed += n;
        else if (kind === "transfers_ok") counters.transfersOk += n;
        else if (kind === "transfers_failed") {
          counters.transfersFailed.set(rest, (counters.transfersFailed.get(rest) ?? 0) + n);
        } else if (kind === "bytes_reported") counters.bytesReported += n;
      }
    }
    return counters;
  }

  /** Syncs every {@link SHARED_EVENTS_MS} until {@link stop}. */
  start(onError: (error: unknown) => void = () => {}): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sync().catch(onError), SHARED_EVENTS_MS);
  }

  /** Stops syncing and writes what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.sync().catch(() => {});
  }
}

/** `a:b:c` as `["a", "b:c"]`. */
function splitOnce(text: string): [string, string] {
  const at = text.indexOf(":");
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

/** `a:b:c` as `["a:b", "c"]`. */
function splitLast(text: string): [string, string] {
  const at = text.lastIndexOf(":");
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}
