/**
 * When the dashboard should redraw: {@link ChangeFeed} turns the tracker's events into change
 * notices for server-sent events, a burst of events into one notice, and notices when a peer goes
 * offline by falling silent (which no request announces).
 *
 * @module
 */
import { isOnline, type TrackerEvent } from "../tracker/mod.ts";
import type { DashboardSource } from "./views.ts";

/** One change notice. */
export interface Change {
  /** Increases by one per notice, from 1. */
  seq: number;
  /** When it was sent, ms since the epoch. */
  at: number;
  /** What changed: request types (`announce`, `report`, …) and `liveness`. */
  causes: string[];
}

/** Settings of a {@link ChangeFeed}. */
export interface ChangeFeedOptions {
  /** Events within this many ms make one notice. Default 100. */
  coalesceMs?: number;
  /** How often to look for peers that went offline by silence. Default the heartbeat, ≤ 5 s. */
  livenessMs?: number;
}

/** Requests that change nothing anyone sees (a heartbeat only moves `lastSeen`). */
const QUIET = new Set(["hello", "list", "details", "locate", "heartbeat"]);

/**
 * Change notices for the dashboard.
 *
 * @example
 * ```ts ignore
 * using feed = new ChangeFeed(source);
 * const stop = feed.subscribe((change) => console.log(change.causes));
 * ```
 */
export class ChangeFeed implements Disposable {
  readonly #source: DashboardSource;
  readonly #coalesceMs: number;
  readonly #livenessMs: number;
  readonly #listeners = new Set<(change: Change) => void>();
  readonly #unsubscribe: () => void;
  #seq = 0;
  #pending = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  /** Who was online at the last look; undefined until the first look after a (re)start. */
  #onlineKey: string | undefined;
  #closed = false;

  /** Listens to `source.events` until disposed. */
  constructor(source: DashboardSource, options: ChangeFeedOptions = {}) {
    this.#source = source;
    this.#coalesceMs = options.coalesceMs ?? 100;
    this.#livenessMs = options.livenessMs ?? Math.min(source.heartbeatMs, 5_000);
    this.#unsubscribe = source.events.subscribe((event) => this.#onEvent(event));
  }

  /** The last notice's number (0 before the first). */
  get seq(): number {
    return this.#seq;
  }

  /** Calls `listener` with every notice from now on; returns the function that stops it. */
  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    if (this.#ticker === undefined && !this.#closed) {
      void this.#checkLiveness();
      this.#ticker = setInterval(() => void this.#checkLiveness(), this.#livenessMs);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#ticker !== undefined) {
        clearInterval(this.#ticker);
        this.#ticker = undefined;
        this.#onlineKey = undefined;
      }
    };
  }

  /** Stops listening and forgets every subscriber. */
  [Symbol.dispose](): void {
    this.#closed = true;
    this.#unsubscribe();
    this.#listeners.clear();
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #onEvent(event: TrackerEvent): void {
    if (QUIET.has(event.type) && event.outcome === "ok") return;
    if (event.type === "register" && event.outcome !== "ok") return;
    this.#changed(event.type);
  }

  #changed(cause: string): void {
    if (this.#closed) return;
    this.#pending.add(cause);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      const change = { seq: ++this.#seq, at: Date.now(), causes: [...this.#pending] };
      this.#pending.clear();
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch {
          // a broken stream must not keep the others from hearing
        }
      }
    }, this.#coalesceMs);
  }

  async #checkLiveness(): Promise<void> {
    try {
      const source = this.#source;
      const peers = source.index ? (await source.index()).peers : await source.store.listPeers();
      const at = { now: source.events.now(), heartbeatMs: source.heartbeatMs };
      const online = [...peers]
        .filter(([, peer]) => isOnline(peer, at))
        .map(([user]) => user)
        .sort()
        .join("\u0000");
      const before = this.#onlineKey;
      this.#onlineKey = online;
      if (before !== undefined && before !== online) this.#changed("liveness");
    } catch {
      // the store is closing; the next tick or the dispose settles it
    }
  }
}
