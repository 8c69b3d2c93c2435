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
 * Change keys are ordered by the writer's wall clock, and a commit can land a little after the
 * time in its key; so each read starts {@link CHANGE_OVERLAP_MS} before the newest entry applied
 * and skips the entries it has applied already. Applying is idempotent anyway (holder rows and
 * addresses are re-read from the store by key, heartbeats only move forward), so an entry seen
 * twice or late leaves the index as the store is.
 *
 * @module
 */
import { HolderIndex } from "./holder_index.ts";
import {
  CHANGE_RETENTION_MS,
  CHANGE_TAIL_MS,
  type ChangeEntry,
  type LoggedChange,
  type TrackerStore,
} from "./store.ts";

/** How far before the newest applied entry each read of the log starts. */
export const CHANGE_OVERLAP_MS = 2_000;

/** Entries read per request to the store. */
const READ_BATCH = 1_000;

/** Settings of an {@link IndexFollower}. */
export interface IndexFollowerOptions {
  /** Called with the token hashes of sessions that ended (on any tracker). */
  onRevoked?: (tokenHashes: string[]) => void;
  /** Called when a read of the log fails (the next one tries again). */
  onError?: (error: unknown) => void;
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
  readonly #store: TrackerStore;
  readonly #options: IndexFollowerOptions;
  #index = new HolderIndex();
  #loaded = false;
  /** Entries applied in the overlap window, by key, with their time. */
  readonly #applied = new Map<string, number>();
  #newest = 0;
  /** Wall-clock time of the last successful read (ms since the epoch). */
  #readAt = 0;
  #running: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Follows `store`'s log. */
  constructor(store: TrackerStore, options: IndexFollowerOptions = {}) {
    this.#store = store;
    this.#options = options;
  }

  /** The index as of the last read (empty until the first). */
  get index(): HolderIndex {
    return this.#index;
  }

  /** Milliseconds since the last successful read of the log (Infinity before the first). */
  get staleness(): number {
    return this.#readAt === 0 ? Infinity : Date.now() - this.#readAt;
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
    const started = Date.now();
    if (!this.#loaded || started - this.#readAt > CHANGE_RETENTION_MS - 10 * CHANGE_OVERLAP_MS) {
      await this.#load(started);
    }
    let from: number | LoggedChange["key"] = Math.max(0, this.#newest - CHANGE_OVERLAP_MS);
    while (true) {
      const batch = await this.#store.readChanges(from, READ_BATCH);
      await this.#apply(batch.filter((c) => !this.#applied.has(c.key.join("\u0000"))));
      if (batch.length < READ_BATCH) break;
      from = batch.at(-1)!.key;
    }
    for (const [key, at] of this.#applied) {
      if (at < this.#newest - CHANGE_OVERLAP_MS) this.#applied.delete(key);
    }
    this.#readAt = started;
  }

  /** Loads the whole index; the log is then read from a little before `at`. */
  async #load(at: number): Promise<void> {
    const [holders, peers, alive, stats, downloads] = await Promise.all([
      this.#store.listHolders(),
      this.#store.listPeers(),
      this.#store.listAlive(),
      this.#store.listStats(),
      this.#store.listVersionDownloads(),
    ]);
    const index = new HolderIndex();
    for (const [user, counts] of stats) index.setStats(user, counts);
    for (const [id, n] of downloads) index.setDownloads(id, n);
    for (const [user, record] of alive) index.alive(user, record);
    for (const [user, record] of peers) index.setPeer(user, record);
    // Sorted input appends at the end of the version list: loading is linear.
    for (const row of holders) index.setHolder(row);
    this.#index = index;
    this.#loaded = true;
    this.#applied.clear();
    this.#newest = at;
  }

  /**
   * Applies a change this tracker just committed, so its own requests see it at once (its log
   * entry, read later, changes nothing more).
   */
  async applyLocal(change: ChangeEntry): Promise<void> {
    await this.#apply([{ change }]);
  }

  async #apply(changes: { key?: LoggedChange["key"]; change: ChangeEntry }[]): Promise<void> {
    if (changes.length === 0) return;
    const holderKeys = new Map<string, [string, string, string]>();
    const users = new Set<string>();
    const counted = new Set<string>();
    const versions = new Set<string>();
    const revoked: string[] = [];
    for (const { key, change } of changes) {
      if (key) {
        this.#applied.set(key.join("\u0000"), key[1]);
        this.#newest = Math.max(this.#newest, key[1]);
      }
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
      this.#store.getStatsMany([...counted]),
      this.#store.getVersionDownloads([...versions]),
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
  }
}
