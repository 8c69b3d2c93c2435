/**
 * Partial holders: downloads in progress that serve the chunks they have verified. A `get` sends
 * `progress` (at most every few seconds, see `PROGRESS_MIN_INTERVAL_MS`) with the address it
 * serves on and the share it holds; the tracker lists it among the holders of that version with
 * `complete: false` (or `true` once it holds everything and seeds) until it withdraws or stops
 * sending for `PARTIAL_HOLDER_TTL_MS`.
 *
 * This state lives in the tracker process's memory on purpose: it is soft (every partial holder
 * repeats it every few seconds, and a tracker that restarts has it back within one interval), so
 * a second tracker process only needs the same `progress` stream, not shared storage. What a
 * member may send `progress` on is shared, in KV (see `progress_grants.ts`). The memory is
 * bounded: at most {@link MAX_PROGRESS_VERSIONS_PER_MEMBER} versions per member,
 * {@link MAX_PARTIAL_HOLDERS_PER_VERSION} holders per version and {@link MAX_PARTIAL_HOLDERS} in
 * all; a started tracker sweeps out silent holders every {@link PARTIAL_HOLDER_SWEEP_MS}.
 *
 * @module
 */
import type { HolderInfo } from "../protocol/mod.ts";
import { TrackerError } from "./tracker_error.ts";

/** A partial holder stops being listed after this long without a `progress` update. */
export const PARTIAL_HOLDER_TTL_MS = 15_000;

/** Updates of one (user, version) closer together than this are accepted but not stored. */
export const PROGRESS_MIN_INTERVAL_MS = 1_000;

/** Most partial holders listed per version (the newest updates win). */
export const MAX_PARTIAL_HOLDERS_PER_VERSION = 500;

/** Most versions one member may be a partial holder of at once; more get `FORBIDDEN`. */
export const MAX_PROGRESS_VERSIONS_PER_MEMBER = 32;

/** Most partial holders kept in all (every version, every member); more get `BUSY`. */
export const MAX_PARTIAL_HOLDERS = 20_000;

/** How often a started tracker removes partial holders silent for {@link PARTIAL_HOLDER_TTL_MS}. */
export const PARTIAL_HOLDER_SWEEP_MS = 5_000;

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
  /** When it last sent `progress`. */
  updatedAt: number;
}

/**
 * The partial holders of every version, kept in memory.
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
  readonly #versions = new Map<string, Map<string, PartialHolder>>();
  /** Version keys by user. */
  readonly #byUser = new Map<string, Set<string>>();
  #size = 0;
  #sweptAt = -Infinity;

  /** Partial holders under the clock `now`. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
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
    if (withdraw) {
      this.#remove(key, holder.user);
      return;
    }
    const now = this.#now();
    const old = this.#versions.get(key)?.get(holder.user);
    if (
      old && now - old.updatedAt < PROGRESS_MIN_INTERVAL_MS && old.port === holder.port &&
      old.host === holder.host && holder.progress < 1 &&
      (old.stalled ?? false) === (holder.stalled ?? false)
    ) return;
    if (!old) this.#checkRoom(holder.user, now);
    let users = this.#versions.get(key);
    if (!users) this.#versions.set(key, users = new Map());
    if (!old) this.#size++;
    users.delete(holder.user);
    users.set(holder.user, { ...holder, updatedAt: now });
    let mine = this.#byUser.get(holder.user);
    if (!mine) this.#byUser.set(holder.user, mine = new Set());
    mine.add(key);
    while (users.size > MAX_PARTIAL_HOLDERS_PER_VERSION) {
      this.#remove(key, users.keys().next().value!);
    }
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

  /** Forgets every partial holder of `user` (it logged out). */
  forget(user: string): void {
    for (const key of [...this.#byUser.get(user) ?? []]) this.#remove(key, user);
  }

  /** Refuses a new entry of `user` when it or the tracker is at its cap (after a sweep). */
  #checkRoom(user: string, now: number): void {
    const mine = this.#byUser.get(user);
    if (mine && mine.size >= MAX_PROGRESS_VERSIONS_PER_MEMBER) {
      for (const key of [...mine]) {
        const holder = this.#versions.get(key)?.get(user);
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

  /** Removes `user` from version `key`, keeping the counts and the per-user index. */
  #remove(key: string, user: string): void {
    const users = this.#versions.get(key);
    if (!users?.delete(user)) return;
    this.#size--;
    if (users.size === 0) this.#versions.delete(key);
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
