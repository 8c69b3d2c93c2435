/**
 * Partial holders: downloads in progress that serve the chunks they have verified. A `get` sends
 * `progress` (at most every few seconds, see `PROGRESS_MIN_INTERVAL_MS`) with the address it
 * serves on and the share it holds; the tracker lists it among the holders of that version with
 * `complete: false` (or `true` once it holds everything and seeds) until it withdraws or stops
 * sending for `PARTIAL_HOLDER_TTL_MS`.
 *
 * This state lives in the tracker process's memory on purpose: it is soft (every partial holder
 * repeats it every few seconds, and a tracker that restarts has it back within one interval), so
 * a second tracker process only needs the same `progress` stream, not shared storage.
 *
 * @module
 */
import type { HolderInfo } from "../protocol/mod.ts";

/** A partial holder stops being listed after this long without a `progress` update. */
export const PARTIAL_HOLDER_TTL_MS = 15_000;

/** Updates of one (user, version) closer together than this are accepted but not stored. */
export const PROGRESS_MIN_INTERVAL_MS = 1_000;

/** Most partial holders listed per version (the newest updates win). */
export const MAX_PARTIAL_HOLDERS_PER_VERSION = 500;

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
  readonly #versions = new Map<string, Map<string, PartialHolder>>();

  /** Partial holders under the clock `now`. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records (or, with `withdraw`, removes) `user` as a partial holder of version `id`. */
  update(
    name: string,
    id: string,
    holder: Omit<PartialHolder, "updatedAt">,
    withdraw = false,
  ): void {
    const key = `${name}\u0000${id}`;
    let users = this.#versions.get(key);
    if (withdraw) {
      users?.delete(holder.user);
      if (users?.size === 0) this.#versions.delete(key);
      return;
    }
    const now = this.#now();
    const old = users?.get(holder.user);
    if (
      old && now - old.updatedAt < PROGRESS_MIN_INTERVAL_MS && old.port === holder.port &&
      old.host === holder.host && holder.progress < 1
    ) return;
    if (!users) this.#versions.set(key, users = new Map());
    users.delete(holder.user);
    users.set(holder.user, { ...holder, updatedAt: now });
    while (users.size > MAX_PARTIAL_HOLDERS_PER_VERSION) {
      users.delete(users.keys().next().value!);
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
      if (now - holder.updatedAt > PARTIAL_HOLDER_TTL_MS) users.delete(user);
    }
    if (users.size === 0) this.#versions.delete(key);
    const whole = new Set(complete.map((h) => h.user));
    return [...users.values()].filter((h) => !whole.has(h.user))
      .sort((a, b) => a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
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
    for (const [key, users] of this.#versions) {
      users.delete(user);
      if (users.size === 0) this.#versions.delete(key);
    }
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
    };
  }
}
