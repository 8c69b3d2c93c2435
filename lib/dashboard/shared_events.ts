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
 * Transfers are numbered per writing process (this tracker's name and a random suffix, so a
 * restart starts a new numbering) and read per writer from the number after the last one read: a
 * read costs what is new. One process writes its batches one after another, so a number is never
 * read before a lower one of the same writer has landed, unless that batch failed (then it is
 * gone from the pages, and from the counters too).
 *
 * @module
 */
import {
  type StoredTransfer,
  type TrackerEvent,
  type TrackerStore,
  TRANSFER_RETENTION_MS,
} from "../tracker/mod.ts";
import {
  addRequests,
  type Counters,
  emptyCounters,
  type EventLog,
  LATENCY_BUCKETS_S,
  latencyHistogram,
} from "./event_log.ts";

/** How often the shared events are written and the other trackers' transfers read. */
export const SHARED_EVENTS_MS = 250;

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
  /** This process's name as a writer of transfers. */
  readonly #writer: string;
  /** The next number to read of each other writer's transfers. */
  readonly #next = new Map<string, number>();
  /** Counter increments not written yet. */
  readonly #counts = new Map<string, number>();
  /** Transfers not written yet. */
  #transfers: StoredTransfer[] = [];
  #written = 0;
  #syncing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Feeds `events` and shares through `store` under this tracker's name `tracker`. */
  constructor(events: EventLog, store: TrackerStore, tracker: string) {
    this.#events = events;
    this.#store = store;
    this.#tracker = tracker;
    this.#writer = `${tracker}~${crypto.randomUUID().slice(0, 8)}`;
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
      transfers.length > 0 ? this.#store.putTransfers(this.#writer, first, transfers) : null,
      counts.size > 0 ? this.#store.addCounters(this.#tracker, counts) : null,
    ]);
    await this.#readOthers();
  }

  /** Adds the transfers other trackers took since the last read (all kept, at first). */
  async #readOthers(): Promise<void> {
    const writers = await this.#store.transferWriters();
    for (const writer of [...this.#next.keys()]) {
      if (!writers.includes(writer)) this.#next.delete(writer);
    }
    for (const writer of writers) {
      if (writer === this.#writer) continue;
      while (true) {
        const batch = await this.#store.listTransfers(
          writer,
          this.#next.get(writer) ?? 0,
          READ_BATCH,
        );
        for (const { n, transfer } of batch) {
          this.#next.set(writer, n + 1);
          // An expired key may still be read for a while.
          if (transfer.at >= this.#events.now() - TRANSFER_RETENTION_MS) {
            this.#events.addTransfer(transfer);
          }
        }
        if (batch.length < READ_BATCH) break;
      }
    }
  }

  /** The counters of every tracker on the store, summed (as of their last writes). */
  async counters(): Promise<Counters> {
    const all = await this.#store.readCounters();
    const counters = emptyCounters();
    const histogram = (type: string) => latencyHistogram(counters, type);
    for (const names of all.values()) {
      for (const [name, n] of names) {
        if (!name.startsWith(SHARED_COUNTER_PREFIX)) {
          const [type, outcome] = splitOnce(name);
          addRequests(counters, type, outcome, n);
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
