/**
 * Keeping a {@link HolderIndex} current from the store's change log: load everything once, then
 * read the entries written since (every {@link CHANGE_TAIL_MS} ms when started, or on demand) and
 * apply them. No periodic full scans: a full load happens at start and only again when this
 * tracker fell further behind than the log keeps ({@link CHANGE_RETENTION_MS}).
 *
 * Why tail a log rather than `kv.watch` or queues: on the local SQLite backend `watch` does not see
 * another process's writes, and a queued message takes about a minute to reach another process;
 * reading a key range works on every backend, local or remote.
 *
 * Entries are followed per writer, by number, not by time (see the store's "Why no committed entry
 * is ever skipped"): a number not seen yet below the highest seen is a gap, asked for by exact
 * key on every read until it is found, or until an entry read earlier says its commit had
 * finished (so it failed). A commit held back however long is applied when it lands. Applying is
 * idempotent (holder rows and addresses are re-read from the store by key, heartbeats only move
 * forward), so an entry applied twice leaves the index as the store is.
 *
 * @module
 */
import { HolderIndex } from "./holder_index.ts";
import type { PartialUpdate } from "./partial_holders.ts";
import {
  CHANGE_RETENTION_MS,
  CHANGE_TAIL_MS,
  type ChangeEntry,
  type LoggedChange,
} from "./change_log.ts";
import type { CountStore } from "./count_store.ts";
import type { IndexStore } from "./index_store.ts";
import type { TrackerStores } from "./store.ts";

/** Entries read per request to the store. */
const READ_BATCH = 1_000;

/**
 * Most gaps (numbers not seen below the highest seen) followed per writer; beyond, the follower
 * loads the whole index again, which needs none.
 */
export const MAX_CHANGE_GAPS = 10_000;

/** Where a follower is in one writer's entries. */
interface WriterPosition {
  /** One more than the highest number seen. */
  next: number;
  /** Numbers below `next` not seen yet. */
  gaps: Set<number>;
  /** The highest `done` among the entries seen. */
  done: number;
}

/** Settings of an {@link IndexFollower}. */
export interface IndexFollowerOptions {
  /** Called with the token hashes of sessions that ended (on any tracker). */
  onRevoked?: (tokenHashes: string[]) => void;
  /** Called with partial-holder updates, from the log and, at each full load, from the store. */
  onPartial?: (updates: PartialUpdate[]) => void;
  /** Called when a read of the log fails (the next one tries again). */
  onError?: (error: unknown) => void;
  /**
   * The clock that says how long ago the log was last read (default `Date.now`): a follower that
   * did not read it for nearly {@link CHANGE_RETENTION_MS} loads the whole index again.
   */
  now?: () => number;
}

/**
 * The holder index of one tracker, following the change log.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IndexFollower, KvTrackerStore } from "./mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const follower = new IndexFollower(store);
 * await store.putPeer("ann", { host: "127.0.0.1", port: 1, lastSeen: 0, online: true, session: "s" });
 * await follower.catchUp();
 * assert.equal(follower.index.peer("ann")?.port, 1);
 * ```
 */
export class IndexFollower {
  readonly #store: IndexStore;
  readonly #counts: CountStore;
  readonly #options: IndexFollowerOptions;
  readonly #now: () => number;
  #index = new HolderIndex();
  #loaded = false;
  /** Where this follower is in each writer's entries. */
  #writers = new Map<string, WriterPosition>();
  /** Time of the last successful read by {@link IndexFollowerOptions.now} (ms since the epoch). */
  #readAt = 0;
  #running: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Follows the log of `stores`' index (and reads their counts). */
  constructor(stores: Pick<TrackerStores, "index" | "counts">, options: IndexFollowerOptions = {}) {
    this.#store = stores.index;
    this.#counts = stores.counts;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The index as of the last read (empty until the first). */
  get index(): HolderIndex {
    return this.#index;
  }

  /** Numbers of change entries seen missing and still awaited, over every writer. */
  get gaps(): number {
    let n = 0;
    for (const at of this.#writers.values()) n += at.gaps.size;
    return n;
  }

  /** Milliseconds since the last successful read of the log (Infinity before the first). */
  get staleness(): number {
    return this.#readAt === 0 ? Infinity : this.#now() - this.#readAt;
  }

  /**
   * Reads and applies what was written until now: when it resolves, every change committed
   * before the call is in the index. Concurrent calls share reads.
   */
  catchUp(): Promise<void> {
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      this.#running = this.#read();
      return this.#running;
    });
    return this.#queued;
  }

  /**
   * The index to answer from: as it is while the reader runs on its timer; when it does not
   * (a service used without a server), read again first if the last read is older than
   * {@link CHANGE_TAIL_MS}.
   */
  async current(): Promise<HolderIndex> {
    if (this.#timer === undefined && this.staleness > CHANGE_TAIL_MS) await this.catchUp();
    else if (!this.#loaded) await this.catchUp();
    return this.#index;
  }

  /** Reads the log every {@link CHANGE_TAIL_MS} ms until {@link stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = () => {
      this.catchUp().catch((error) => this.#options.onError?.(error)).finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, CHANGE_TAIL_MS);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Stops reading and waits for a read in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running.catch(() => {});
  }

  async #read(): Promise<void> {
    const started = this.#now();
    if (!this.#loaded || started - this.#readAt > CHANGE_RETENTION_MS - 10_000) {
      await this.#load();
    }
    const writers = await this.#store.changeWriters();
    // A writer whose entries all expired is forgotten; if it writes again it is read from 0.
    for (const writer of [...this.#writers.keys()]) {
      if (!writers.has(writer)) this.#writers.delete(writer);
    }
    const found = await Promise.all([...writers.keys()].map((w) => this.#readWriter(w)));
    await this.#apply(found.flat());
    this.#readAt = started;
  }

  /** The entries of `writer` not seen yet: its gaps, by key, then those above the highest seen. */
  async #readWriter(writer: string): Promise<LoggedChange[]> {
    let at = this.#writers.get(writer);
    if (!at) this.#writers.set(writer, at = { next: 0, gaps: new Set(), done: 0 });
    // Known before this read: a gap below it had finished before an entry already visible.
    const doneBefore = at.done;
    const found: LoggedChange[] = [];
    if (at.gaps.size > 0) {
      const seqs = [...at.gaps];
      for (const change of await this.#store.getChanges(writer, seqs)) {
        if (!change) continue;
        at.gaps.delete(change.seq);
        found.push(change);
      }
    }
    while (true) {
      const batch = await this.#store.readChanges(writer, at.next, READ_BATCH);
      for (const change of batch) {
        for (let seq = at.next; seq < change.seq; seq++) at.gaps.add(seq);
        at.next = Math.max(at.next, change.seq + 1);
        found.push(change);
      }
      if (batch.length < READ_BATCH) break;
    }
    for (const seq of at.gaps) if (seq < doneBefore) at.gaps.delete(seq);
    for (const change of found) at.done = Math.max(at.done, change.done);
    if (at.gaps.size > MAX_CHANGE_GAPS) this.#loaded = false;
    return found;
  }

  /**
   * Loads the whole index. First each writer's position: its newest entry's `done`, below which
   * every commit had finished before that entry, so the load sees it; entries from there on are
   * read (again) afterwards.
   */
  async #load(): Promise<void> {
    const writers = await this.#store.changeWriters();
    const positions = new Map<string, WriterPosition>();
    await Promise.all([...writers.keys()].map(async (writer) => {
      const last = await this.#store.lastChange(writer);
      positions.set(writer, { next: last?.done ?? 0, gaps: new Set(), done: 0 });
    }));
    const [holders, peers, alive, stats, downloads, partial] = await Promise.all([
      this.#store.listHolders(),
      this.#store.listPeers(),
      this.#store.listAlive(),
      this.#counts.listStats(),
      this.#counts.listVersionDownloads(),
      this.#options.onPartial ? this.#store.listPartialHolders() : [],
    ]);
    if (partial.length > 0) this.#options.onPartial?.(partial);
    const index = new HolderIndex();
    for (const [user, counts] of stats) index.setStats(user, counts);
    for (const [id, n] of downloads) index.setDownloads(id, n);
    for (const [user, record] of alive) index.alive(user, record);
    for (const [user, record] of peers) index.setPeer(user, record);
    // Sorted input appends at the end of the version list: loading is linear.
    for (const row of holders) index.setHolder(row);
    this.#index = index;
    this.#loaded = true;
    this.#writers = positions;
  }

  /**
   * Applies a change this tracker just committed, so its own requests see it at once (its log
   * entry, read later, changes nothing more).
   */
  async applyLocal(change: ChangeEntry): Promise<void> {
    await this.#apply([{ change }]);
  }

  async #apply(changes: { change: ChangeEntry }[]): Promise<void> {
    if (changes.length === 0) return;
    const holderKeys = new Map<string, [string, string, string]>();
    const users = new Set<string>();
    const counted = new Set<string>();
    const versions = new Set<string>();
    const revoked: string[] = [];
    const partial: PartialUpdate[] = [];
    for (const { change } of changes) {
      if (change.partial) partial.push(...change.partial);
      for (const k of change.holders ?? []) holderKeys.set(k.join("\u0000"), k);
      for (const user of change.peers ?? []) users.add(user);
      for (const [user, session, lastSeen] of change.alive ?? []) {
        this.#index.alive(user, { session, lastSeen });
      }
      revoked.push(...change.revoked ?? []);
      for (const [user, id] of change.counts ?? []) {
        counted.add(user);
        if (id !== "") versions.add(id);
      }
    }
    const keys = [...holderKeys.values()];
    const userList = [...users];
    const [rows, peers, stats, downloads] = await Promise.all([
      this.#store.getHolders(keys),
      this.#store.getPeers(userList),
      this.#counts.getStatsMany([...counted]),
      this.#counts.getVersionDownloads([...versions]),
    ]);
    for (const [user, counts] of stats) this.#index.setStats(user, counts);
    for (const [id, n] of downloads) this.#index.setDownloads(id, n);
    userList.forEach((user, i) => this.#index.setPeer(user, peers[i] ?? null));
    keys.forEach(([name, id, user], i) => {
      const row = rows[i];
      if (row) this.#index.setHolder(row);
      else this.#index.deleteHolder(name, id, user);
    });
    if (revoked.length > 0) this.#options.onRevoked?.(revoked);
    if (partial.length > 0) this.#options.onPartial?.(partial);
  }
}
