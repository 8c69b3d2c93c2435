/**
 * Partial holders: downloads in progress that serve the chunks they have verified. A `get` sends
 * `progress` (at most every few seconds, see `PROGRESS_MIN_INTERVAL_MS`) with the address it
 * serves on and the share it holds; the tracker lists it among the holders of that version with
 * `complete: false` (or `true` once it holds everything and seeds) until it withdraws or stops
 * sending for `PARTIAL_HOLDER_TTL_MS`.
 *
 * One truth for every tracker on one KV: each accepted update (or withdrawal) is written to KV
 * under `["partial", name, id, user]` (expiring after {@link PARTIAL_HOLDER_TTL_MS}) in batches,
 * one commit for many every {@link PARTIAL_HOLDER_FLUSH_MS}, with a change-log entry carrying the
 * records; every tracker applies those entries to its copy here (loaded from KV at start), so a
 * partial holder told to one tracker is listed by all within about a second, and the caps and the
 * update interval are checked against the whole cluster's holders. The copy is a cache: stale by
 * at most a flush interval plus a tail of the log.
 *
 * The memory is bounded: at most {@link MAX_PROGRESS_VERSIONS_PER_MEMBER} versions per member,
 * {@link MAX_PARTIAL_HOLDERS_PER_VERSION} holders per version and {@link MAX_PARTIAL_HOLDERS} in
 * all for updates this tracker accepts; updates other trackers accepted at the same moment may
 * add at most as many again (beyond twice the cap they are not kept). A started tracker sweeps
 * out silent holders every {@link PARTIAL_HOLDER_SWEEP_MS}.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";
import type { HolderInfo } from "../protocol/mod.ts";
import type { IndexStore } from "./index_store.ts";
import { TrackerError } from "./tracker_error.ts";
import {
  MAX_PARTIAL_HOLDERS,
  MAX_PARTIAL_HOLDERS_PER_VERSION,
  MAX_PROGRESS_VERSIONS_PER_MEMBER,
  PROGRESS_MIN_INTERVAL_MS,
} from "../protocol/mod.ts";

/** A partial holder stops being listed after this long without a `progress` update. */
export const PARTIAL_HOLDER_TTL_MS = 15_000;

/** How often a started tracker removes partial holders silent for {@link PARTIAL_HOLDER_TTL_MS}. */
export const PARTIAL_HOLDER_SWEEP_MS = 5_000;

/** Longest time accepted partial-holder updates wait in memory before they are written to KV. */
export const PARTIAL_HOLDER_FLUSH_MS = 250;

/** One partial holder of a version. */
export interface PartialHolder {
  /** Its user. */
  user: string;
  /** Where it serves. */
  host: string;
  /** Its port. */
  port: number;
  /** Whether it serves over TLS. */
  tls?: boolean;
  /** Share of the file it holds, 0-1. */
  progress: number;
  /** Which chunks it holds (a have-map, not checked here: the dashboard decodes it). */
  have?: string;
  /** Whether no online peer has the chunks it still needs (it said so). */
  stalled?: boolean;
  /** The holders it fetches from now (it said so). */
  sources?: string[];
  /** When it last sent `progress`. */
  updatedAt: number;
}

/** One partial holder's update as written to KV and the change log: a record, or null (gone). */
export interface PartialUpdate {
  /** The file's name. */
  name: string;
  /** The version's id. */
  id: string;
  /** The holder's user. */
  user: string;
  /** The record, or null when it withdrew or logged out. */
  holder: PartialHolder | null;
  /** When the tracker took it, ms since the epoch (a newer update wins). */
  at: number;
}

/**
 * The partial holders of every version: this tracker's copy of the cluster's, kept in memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PartialHolders } from "./partial_holders.ts";
 * const partial = new PartialHolders(() => 0);
 * partial.update("a.bin", "ab".repeat(32), { user: "bo", host: "127.0.0.1", port: 9, progress: 0.5 });
 * assert.equal(partial.list("a.bin", "ab".repeat(32))[0]?.progress, 0.5);
 * ```
 */
export class PartialHolders {
  readonly #now: () => number;
  /** Holders by version key (`name NUL id`), then by user, oldest update first. */
  readonly #versions = new Map<string, BoundedMap<string, PartialHolder>>();
  /** Version keys by user. */
  readonly #byUser = new Map<string, Set<string>>();
  /** When each (version, user) was last removed, so an older update arriving later is ignored. */
  readonly #removedAt = new BoundedMap<string, number>(2 * MAX_PARTIAL_HOLDERS);
  /** Updates accepted here and not yet written, by version key and user. */
  readonly #pending = new Map<string, PartialUpdate>();
  readonly #store: IndexStore | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #size = 0;
  #sweptAt = -Infinity;

  /** Partial holders under the clock `now`, shared through `store` when given. */
  constructor(now: () => number = Date.now, store?: IndexStore) {
    this.#now = now;
    this.#store = store;
  }

  /** How many partial holders are kept (live or not yet swept). */
  get size(): number {
    return this.#size;
  }

  /**
   * Records (or, with `withdraw`, removes) `user` as a partial holder of version `id`. A new entry
   * beyond {@link MAX_PROGRESS_VERSIONS_PER_MEMBER} is refused with `FORBIDDEN`, beyond
   * {@link MAX_PARTIAL_HOLDERS} with `BUSY`.
   */
  update(
    name: string,
    id: string,
    holder: Omit<PartialHolder, "updatedAt">,
    withdraw = false,
  ): void {
    const key = `${name}\u0000${id}`;
    const now = this.#now();
    if (withdraw) {
      this.#remove(key, holder.user, now);
      this.#queue({ name, id, user: holder.user, holder: null, at: now });
      return;
    }
    const old = this.#versions.get(key)?.peek(holder.user);
    if (
      old && now - old.updatedAt < PROGRESS_MIN_INTERVAL_MS && old.port === holder.port &&
      old.host === holder.host && holder.progress < 1 &&
      (old.stalled ?? false) === (holder.stalled ?? false) &&
      (old.sources ?? []).join() === (holder.sources ?? []).join()
    ) return;
    if (!old) this.#checkRoom(holder.user, now);
    const record = { ...holder, updatedAt: now };
    this.#set(key, record);
    this.#queue({ name, id, user: holder.user, holder: record, at: now });
  }

  /**
   * Applies updates another tracker (or this one, earlier) accepted, as read from KV or the
   * change log: a newer update wins, caps are not checked again, and nothing is written.
   */
  apply(updates: Iterable<PartialUpdate>): void {
    const now = this.#now();
    for (const { name, id, user, holder, at } of updates) {
      const key = `${name}\u0000${id}`;
      const old = this.#versions.get(key)?.peek(user);
      if (old && old.updatedAt > at) continue;
      if ((this.#removedAt.peek(`${key}\u0000${user}`) ?? -Infinity) >= at) continue;
      if (holder === null) {
        this.#remove(key, user, at);
        continue;
      }
      if (now - holder.updatedAt > PARTIAL_HOLDER_TTL_MS) continue;
      if (!old && this.#size >= 2 * MAX_PARTIAL_HOLDERS) continue;
      this.#set(key, holder);
    }
  }

  /** Writes the updates accepted since the last flush to the store (a started tracker's timer). */
  flush(): Promise<void> {
    const store = this.#store;
    if (!store || this.#pending.size === 0) return this.#flushing;
    const updates = [...this.#pending.values()];
    this.#pending.clear();
    const previous = this.#flushing;
    this.#flushing = previous.catch(() => {}).then(() => store.putPartialHolders(updates));
    return this.#flushing;
  }

  /** Queues `update` for the next flush (a later update of the same holder replaces it). */
  #queue(update: PartialUpdate): void {
    if (!this.#store) return;
    const key = `${update.name}\u0000${update.id}\u0000${update.user}`;
    this.#pending.delete(key);
    this.#pending.set(key, update);
  }

  /** Stores `holder` under version `key`, newest last, within the per-version cap. */
  #set(key: string, holder: PartialHolder): void {
    let users = this.#versions.get(key);
    if (!users) {
      // Beyond the per-version cap, the holder updated longest ago goes.
      const evicted = (user: string) => this.#forget(key, user);
      this.#versions.set(key, users = new BoundedMap(MAX_PARTIAL_HOLDERS_PER_VERSION, evicted));
    }
    if (!users.has(holder.user)) this.#size++;
    users.set(holder.user, holder);
    this.#removedAt.delete(`${key}\u0000${holder.user}`);
    let mine = this.#byUser.get(holder.user);
    if (!mine) this.#byUser.set(holder.user, mine = new Set());
    mine.add(key);
  }

  /**
   * The live partial holders of version `id` of `name`, by user name, leaving out users among
   * `complete` (the version's complete holders).
   */
  list(name: string, id: string, complete: ReadonlyArray<{ user: string }> = []): PartialHolder[] {
    const key = `${name}\u0000${id}`;
    const users = this.#versions.get(key);
    if (!users) return [];
    const now = this.#now();
    for (const [user, holder] of users) {
      if (now - holder.updatedAt > PARTIAL_HOLDER_TTL_MS) this.#remove(key, user);
    }
    const whole = new Set(complete.map((h) => h.user));
    return [...users.values()].filter((h) => !whole.has(h.user))
      .sort((a, b) => a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
  }

  /**
   * Removes every partial holder silent for {@link PARTIAL_HOLDER_TTL_MS}, of every version; returns
   * how many it removed. A started tracker calls it every {@link PARTIAL_HOLDER_SWEEP_MS}.
   */
  sweep(): number {
    const now = this.#now();
    this.#sweptAt = now;
    let removed = 0;
    for (const [key, at] of this.#removedAt) {
      if (now - at > PARTIAL_HOLDER_TTL_MS) this.#removedAt.delete(key);
    }
    for (const [key, users] of this.#versions) {
      for (const [user, holder] of users) {
        if (now - holder.updatedAt > PARTIAL_HOLDER_TTL_MS) {
          this.#remove(key, user);
          removed++;
        }
      }
    }
    return removed;
  }

  /**
   * A row of version `id` from `rows` (any holder's) standing for `user` when it is a live partial
   * holder of that version, so reports on partial sources count like others.
   */
  holderRow<R extends { id: string; user: string }>(
    rows: R[],
    name: string,
    id: string,
    user: string,
  ): R | undefined {
    const row = rows.find((r) => r.id === id);
    if (!row || !this.list(name, id).some((h) => h.user === user)) return undefined;
    return { ...row, user };
  }

  /** Forgets every partial holder of `user` (it logged out), on every tracker. */
  forget(user: string): void {
    const now = this.#now();
    for (const key of [...this.#byUser.get(user) ?? []]) {
      this.#remove(key, user, now);
      const [name, id] = key.split("\u0000") as [string, string];
      this.#queue({ name, id, user, holder: null, at: now });
    }
  }

  /** Refuses a new entry of `user` when it or the tracker is at its cap (after a sweep). */
  #checkRoom(user: string, now: number): void {
    const mine = this.#byUser.get(user);
    if (mine && mine.size >= MAX_PROGRESS_VERSIONS_PER_MEMBER) {
      for (const key of [...mine]) {
        const holder = this.#versions.get(key)?.peek(user);
        if (holder && now - holder.updatedAt > PARTIAL_HOLDER_TTL_MS) this.#remove(key, user);
      }
      if (mine.size >= MAX_PROGRESS_VERSIONS_PER_MEMBER) {
        throw new TrackerError(
          "FORBIDDEN",
          `Cannot record progress: you are a partial holder of ${mine.size} versions already, the most one member may be (${MAX_PROGRESS_VERSIONS_PER_MEMBER}); withdraw one first`,
        );
      }
    }
    // When full, sweep at most once a second: a flood of refusals must not cost a sweep each.
    if (this.#size >= MAX_PARTIAL_HOLDERS && now - this.#sweptAt >= PROGRESS_MIN_INTERVAL_MS) {
      this.sweep();
    }
    if (this.#size >= MAX_PARTIAL_HOLDERS) {
      throw new TrackerError(
        "BUSY",
        `Cannot record progress: the tracker keeps ${MAX_PARTIAL_HOLDERS} partial holders already; try again later`,
      );
    }
  }

  /**
   * Removes `user` from version `key`, keeping the counts and the per-user index; with `at`, also
   * remembers when (for {@link PARTIAL_HOLDER_TTL_MS}), so an older update read later is ignored.
   */
  #remove(key: string, user: string, at?: number): void {
    if (at !== undefined) {
      this.#removedAt.set(`${key}\u0000${user}`, at);
    }
    const users = this.#versions.get(key);
    if (!users?.delete(user)) return;
    if (users.size === 0) this.#versions.delete(key);
    this.#forget(key, user);
  }

  /** Keeps the count and the per-user index right once `user` left version `key`'s holders. */
  #forget(key: string, user: string): void {
    this.#size--;
    const mine = this.#byUser.get(user);
    mine?.delete(key);
    if (mine?.size === 0) this.#byUser.delete(user);
  }
}

/** Partial holders as `details` lists them: online, `complete` when they hold everything. */
export function* partialHolderInfos(
  partial: PartialHolder[],
  stats: Map<string, { downloads: number; failures: number }>,
): Generator<HolderInfo> {
  for (const h of partial) {
    yield {
      user: h.user,
      host: h.host,
      port: h.port,
      online: true,
      ...(h.tls ? { tls: true } : {}),
      lastSeen: h.updatedAt,
      ...(stats.get(h.user) ?? { downloads: 0, failures: 0 }),
      complete: h.progress >= 1,
      progress: h.progress,
      ...(h.stalled ? { stalled: true } : {}),
    };
  }
}
