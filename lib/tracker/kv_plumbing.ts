/**
 * The KV plumbing under every role store of the tracker: the one place that commits (waiting and
 * trying again while another process holds a KV file's write lock), retries a read-check-write
 * that other writers keep beating ({@link retrying}), splits big mutation sets into commits under
 * KV's limits ({@link batches}), appends change-log entries ({@link KvPlumbing.logChange}) and
 * migrates an older key layout ({@link migrateLayout}). The role stores over it
 * (`account_store.ts`, `index_store.ts`, `count_store.ts`, `throttle_store.ts`,
 * `ticket_key_store.ts`) own their keys; `store.ts` opens them together.
 *
 * Key layout (values stay under KV's 64 KiB, keys under 2 KiB):
 *
 * | key                                   | value                                   | role |
 * |---------------------------------------|-----------------------------------------|------|
 * | `["meta", "layout"]`                  | the key layout's version ({@link STORE_LAYOUT}) | plumbing |
 * | `["change", writer, seq]`             | `StoredChange`, with `expireIn` (`CHANGE_RETENTION_MS`) | plumbing (written), index (read) |
 * | `["change_writer", writer]`           | ms of the writer's last change entry, with `expireIn` (`CHANGE_RETENTION_MS`) | plumbing (written), index (read) |
 * | `["user", lowercase(name)]`           | `UserRecord`: the name as registered, salted scrypt hash | accounts |
 * | `["session", sha256(token)]`          | `SessionRecord`, with `expireIn`        | accounts |
 * | `["user_session", user, sha256(token)]` | the same record, to list a user's sessions | accounts |
 * | `["meta", "founded"]`                 | who registered first (the first admin), and when | accounts |
 * | `["invite", sha256(code)]`            | `InviteRecord`, with `expireIn`         | accounts |
 * | `["held_name", lowercase(name)]`      | `true` while a removed account's name may not be registered again, with `expireIn` | accounts |
 * | `["admin_audit", at, id]`             | `AdminAuditRecord`, with `expireIn` (`--audit-days`) | accounts |
 * | `["peer", user]`                      | `PeerRecord`: address, liveness         | index |
 * | `["alive", user]`                     | `AliveRecord`: the latest heartbeat a tracker wrote, in batches | index |
 * | `["holder", name, id, user]`          | `HolderRecord`: who has which version   | index |
 * | `["share", user, name]`               | `ShareRecord`: reverse index            | index |
 * | `["version_holder", id, user]`        | the name: who holds a version, by id    | index |
 * | `["manifest", id]`                    | `ManifestHead`                          | index |
 * | `["manifest", id, i]`                 | part `i` of the chunk hashes: up to 1024 raw 32-byte digests | index |
 * | `["manifest_orphan", id]`             | ms since the epoch its last holder left (garbage collection) | index |
 * | `["partial", name, id, user]`         | `PartialUpdate`: a partial holder, with `expireIn` (`PARTIAL_HOLDER_TTL_MS`) | index |
 * | `["stat", user, "downloads"]`         | `Deno.KvU64` in thousandths, summed atomically | counts |
 * | `["stat", user, "failures"]`          | `Deno.KvU64` in thousandths, summed atomically | counts |
 * | `["vstat", id, "downloads"]`          | `Deno.KvU64` in thousandths: downloads of a version | counts |
 * | `["reported", downloader, source, id]` | `{ at }`, with `expireIn` of a day: one outcome counted | counts |
 * | `["pair_counted", downloader, source, kind]` | times of the outcomes counted in the last day, at most `MAX_COUNTED_PER_PAIR` | counts |
 * | `["grant", downloader, id, source]`   | ms until which a report on `source` is allowed, with `expireIn` | counts |
 * | `["progress_grant", user, id, name]`  | ms until which `user` may send `progress` on the version, with `expireIn` | counts |
 * | `["transfer_audit", at, id]`          | `TransferAuditRecord`: a reported transfer, with `expireIn` (`--audit-days`) | counts |
 * | `["transfer", writer, n]`             | `StoredTransfer`: a reported transfer, numbered per writer, with `expireIn` (`TRANSFER_RETENTION_MS`) | counts |
 * | `["transfer_writer", writer]`         | ms of the writer's last transfer, with `expireIn` (`TRANSFER_RETENTION_MS`) | counts |
 * | `["counter", tracker, name]`          | `Deno.KvU64`: one tracker's request counts, for the dashboard | counts |
 * | `["tracker_alive", tracker]`          | ms until which a tracker counts as alive (renewed by each counter flush), with `expireIn` | counts |
 * | `["login_failures", key]`             | ms of recent failed logins of a back-off key, with `expireIn` | throttles |
 * | `["registrations", group]`            | when an address group's registration bucket was last full, with `expireIn` | throttles |
 * | `["registrations_used", group]`       | `Deno.KvU64`: registrations an address group made | throttles |
 * | `["ticket_keys"]`                     | `TicketKeyRecord`: the Ed25519 pair that signs read tickets | ticket keys |
 *
 * ## Several trackers on one KV
 *
 * Everything two tracker processes must agree on is in KV: accounts, sessions (a logout also
 * writes a change entry, so every tracker drops its cached copy within one tail interval),
 * addresses, liveness (each tracker writes the heartbeats it took in batches, one commit for many
 * peers), the holder index, login back-off and registration buckets (keys that expire by
 * themselves), report and progress grants, ticket keys (created once, by whichever tracker
 * commits first), partial holders (in batches, expiring, carried to the other trackers by the
 * change log), the recent transfers and the counters behind the dashboard and `/metrics` (one set
 * per tracker, summed on the pages), and which trackers are alive (a key each renews with its
 * counters). The change log and why a reader never skips a committed entry: `change_log.ts`.
 *
 * Writes that trackers can race on use atomic checks: the share list (each commit checks the
 * share entries it read), account creation, ticket keys, report grants (used by a checked
 * delete) and the back-off keys. Liveness needs no read-modify-write: a heartbeat's record is
 * keyed by user and names the session it counts for.
 *
 * What stays in one process, and why:
 * - connection caps (per-address and unauthenticated slots, frame budgets): they bound this
 *   process's sockets and memory, which is what they protect;
 * - caches that are safe to be stale by a bounded time: manifests (content-addressed, never
 *   change), sessions (revocations arrive through the change log), the holder index and the copy
 *   of the partial holders (tailed every `CHANGE_TAIL_MS` ms), the dashboard's list of recent
 *   transfers (read from KV every 250 ms), writes waiting for their batch (heartbeats, partial
 *   holders, grants, counters: at most one batch interval each);
 * - the dashboard's change feed (when to redraw this process's pages).
 *
 * @module
 */
import { backoffMs, CodedError, sleep } from "../common/mod.ts";
import { CHANGE_RETENTION_MS, type ChangeEntry, type StoredChange } from "./change_log.ts";

/** The version of the key layout this module reads and writes. */
export const STORE_LAYOUT = 2;

/** Mutations put in one commit at most (KV allows 1,000). */
export const MAX_MUTATIONS = 400;

/** Checks put in one commit at most (KV allows 100). */
export const MAX_CHECKS = 100;

/** Bytes of keys or records one change entry carries at most (values stay under 64 KiB). */
export const CHANGE_ENTRY_BYTES = 48 * 1024;

/** Attempts of a read-check-write whose check other processes keep failing. */
export const MAX_RETRIES = 30;

/** Attempts of a commit while another process holds the KV file's write lock. */
const MAX_LOCKED_ATTEMPTS = 51;

/** How every retry here backs off: a few ms at first, at most 100 ms. */
const RETRY_BACKOFF = { firstMs: 2, maxMs: 100 } as const;

/** What went wrong in the KV plumbing. */
export type StoreErrorCode =
  /** A read-check-write kept losing to other writers. */
  | "CONTENDED"
  /** A commit that had to land did not. */
  | "COMMIT_FAILED";

/**
 * A store operation that could not be done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreError } from "./kv_plumbing.ts";
 * const error = new StoreError("CONTENDED", "Cannot take a registration: the bucket keeps changing");
 * assert.equal(error.code, "CONTENDED");
 * ```
 */
export class StoreError extends CodedError<StoreErrorCode> {}

/** What an attempt of {@link retrying} returns to ask for another attempt. */
export const RETRY: unique symbol = Symbol("retry");

/**
 * Runs `attempt` until it returns something other than {@link RETRY}, backing off between
 * attempts by the one back-off rule (`backoffMs`); after `attempts` tries, returns (or throws)
 * what `giveUp` does. The one retry loop of the store: lock waits and lost checks alike.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RETRY, retrying } from "./kv_plumbing.ts";
 * let tries = 0;
 * const value = await retrying(() => Promise.resolve(++tries < 3 ? RETRY : tries), () => -1);
 * assert.equal(value, 3);
 * assert.equal(await retrying(() => Promise.resolve(RETRY), () => -1, 2), -1);
 * ```
 */
export async function retrying<T>(
  attempt: (n: number) => Promise<T | typeof RETRY>,
  giveUp: () => T,
  attempts: number = MAX_RETRIES,
): Promise<T> {
  for (let n = 0; n < attempts; n++) {
    const result = await attempt(n);
    if (result !== RETRY) return result;
    if (n + 1 < attempts) await sleep(backoffMs(RETRY_BACKOFF, n));
  }
  return giveUp();
}

/** How {@link batches} weighs items against a commit's limits. */
export interface BatchLimits<T> {
  /** Items in one batch at most (default {@link MAX_MUTATIONS}). */
  items?: number;
  /** Mutations an item makes (default 1); a batch makes at most {@link MAX_MUTATIONS}. */
  mutations?: (item: T) => number;
  /** Bytes an item adds (default 0); a batch adds at most `maxBytes`. */
  bytes?: (item: T) => number;
  /** Bytes in one batch at most (default {@link CHANGE_ENTRY_BYTES}). */
  maxBytes?: number;
}

/**
 * Splits `items`, in order, into batches that each fit one commit: at most `items` items,
 * {@link MAX_MUTATIONS} mutations and `maxBytes` bytes, and at least one item each (an item
 * heavier than a whole batch goes alone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batches } from "./kv_plumbing.ts";
 * assert.deepEqual(batches([1, 2, 3, 4, 5], { items: 2 }), [[1, 2], [3, 4], [5]]);
 * assert.deepEqual(batches([5, 5, 20, 1], { bytes: (n) => n, maxBytes: 10 }), [[5, 5], [20], [1]]);
 * ```
 */
export function batches<T>(items: readonly T[], limits: BatchLimits<T> = {}): T[][] {
  const maxItems = limits.items ?? MAX_MUTATIONS;
  const maxBytes = limits.maxBytes ?? CHANGE_ENTRY_BYTES;
  const out: T[][] = [];
  let batch: T[] = [];
  let mutations = 0;
  let bytes = 0;
  for (const item of items) {
    const m = limits.mutations?.(item) ?? 1;
    const b = limits.bytes?.(item) ?? 0;
    const full = batch.length >= maxItems || mutations + m > MAX_MUTATIONS || bytes + b > maxBytes;
    if (batch.length > 0 && full) {
      out.push(batch);
      batch = [];
      mutations = 0;
      bytes = 0;
    }
    batch.push(item);
    mutations += m;
    bytes += b;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** Whether `error` says another connection holds the SQLite file's write lock. */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/.test(error.message);
}

/** Settings of the KV stores (see `openKvStores`). */
export interface KvStoreOptions {
  /**
   * Awaited before each commit that carries a change entry, after the entry's number is taken:
   * a fault to inject in tests (a commit held back by a lock, a pause, a stopped process).
   */
  beforeChangeCommit?: (change: ChangeEntry) => Promise<void>;
  /**
   * Awaited before each attempt of every commit: a fault to inject in tests (throwing an error
   * that says `database is locked` makes the commit wait and try again, like a real lock).
   */
  beforeCommit?: () => Promise<void>;
}

/**
 * Brings a KV written in an older key layout to {@link STORE_LAYOUT}. A store written by an older
 * layout (versions keyed by whole-file hash) loses its file index and sessions, which peers
 * rebuild by logging in and announcing again; accounts and counts are kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { migrateLayout, STORE_LAYOUT } from "./kv_plumbing.ts";
 * using kv = await Deno.openKv(":memory:");
 * await kv.set(["holder", "a.txt", "old", "ann"], {});
 * await migrateLayout(kv);
 * assert.equal((await kv.get(["holder", "a.txt", "old", "ann"])).value, null);
 * assert.equal((await kv.get(["meta", "layout"])).value, STORE_LAYOUT);
 * ```
 */
export async function migrateLayout(kv: Deno.Kv): Promise<void> {
  const layout = await kv.get<number>(["meta", "layout"]);
  if (layout.value === STORE_LAYOUT) return;
  for (const prefix of ["holder", "share", "manifest", "session", "user_session"]) {
    const keys = (await Array.fromAsync(kv.list({ prefix: [prefix] }))).map((e) => e.key);
    for (const batch of batches(keys)) {
      const op = kv.atomic();
      for (const key of batch) op.delete(key);
      await op.commit();
    }
  }
  await kv.atomic().check(layout).set(["meta", "layout"], STORE_LAYOUT).commit();
}

/**
 * One open KV and what every role store needs to write to it: commits that wait out a locked
 * file, the change log's numbering, `getMany` for any number of keys, and per-key queues for
 * read-modify-writes in this process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvPlumbing } from "./kv_plumbing.ts";
 * await using plumbing = new KvPlumbing(await Deno.openKv(":memory:"));
 * const op = plumbing.logChange(plumbing.atomic().set(["peer", "ann"], 1), { peers: ["ann"] });
 * assert.ok((await op.commit()).ok);
 * assert.ok((await plumbing.kv.get(["change", plumbing.writer, 0])).value);
 * ```
 */
export class KvPlumbing implements AsyncDisposable {
  /** The open KV (role stores read it directly; they write through {@link atomic}). */
  readonly kv: Deno.Kv;
  /** This store's name in change keys, so two writers never make the same key. */
  readonly writer: string = crypto.randomUUID().slice(0, 8);
  #seq = 0;
  /** Numbers of this writer's change entries whose commit has not finished. */
  readonly #inFlight = new Set<number>();
  readonly #options: KvStoreOptions;
  /** Read-modify-writes waiting for their key, by key (see {@link oneAtATime}). */
  readonly #queues = new Map<string, Promise<unknown>>();

  /** Plumbing over `kv`, which it closes when disposed. */
  constructor(kv: Deno.Kv, options: KvStoreOptions = {}) {
    this.kv = kv;
    this.#options = options;
  }

  /**
   * An atomic operation whose commit waits and tries again while another process holds the KV
   * file's write lock (several trackers on one file; `database is locked`).
   */
  atomic(): Deno.AtomicOperation {
    const op = this.kv.atomic();
    const commit = op.commit.bind(op);
    const before = this.#options.beforeCommit;
    let locked: unknown;
    op.commit = () =>
      retrying(async () => {
        try {
          await before?.();
          return await commit();
        } catch (error) {
          if (!isLocked(error)) throw error;
          locked = error;
          return RETRY;
        }
      }, () => {
        throw locked;
      }, MAX_LOCKED_ATTEMPTS);
    return op;
  }

  /**
   * Adds the next change entry of this writer to `op`, and makes `op`'s commit mark the entry's
   * number finished when it lands, fails or throws (see `change_log.ts`, "Why no committed entry
   * is ever skipped"). Every caller commits `op`.
   */
  logChange(op: Deno.AtomicOperation, change: ChangeEntry): Deno.AtomicOperation {
    const seq = this.#seq++;
    this.#inFlight.add(seq);
    let done = seq;
    for (const n of this.#inFlight) done = Math.min(done, n);
    const at = Date.now();
    op.set(["change", this.writer, seq], { at, done, change } satisfies StoredChange, {
      expireIn: CHANGE_RETENTION_MS,
    });
    op.set(["change_writer", this.writer], at, { expireIn: CHANGE_RETENTION_MS });
    const commit = op.commit.bind(op);
    const hold = this.#options.beforeChangeCommit;
    op.commit = async () => {
      try {
        if (hold) await hold(change);
        return await commit();
      } finally {
        this.#inFlight.delete(seq);
      }
    };
    return op;
  }

  /** Commits `items` in {@link batches}, `write` putting each batch's mutations in its commit. */
  async commitBatches<T>(
    items: readonly T[],
    write: (op: Deno.AtomicOperation, batch: T[]) => Deno.AtomicOperation | void,
    limits: BatchLimits<T> = {},
  ): Promise<boolean> {
    let ok = true;
    for (const batch of batches(items, limits)) {
      const op = this.atomic();
      const result = await (write(op, batch) ?? op).commit();
      ok &&= result.ok;
    }
    return ok;
  }

  /**
   * Appends `record` to the audit log under `prefix` (keyed by its time, then a random id, so
   * records of one millisecond never collide); it expires after `ms`.
   */
  async appendLog(prefix: string, record: { at: number }, ms: number): Promise<void> {
    await this.atomic().set([prefix, record.at, crypto.randomUUID()], record, { expireIn: ms })
      .commit();
  }

  /** The newest `limit` records of the audit log under `prefix`, newest first. */
  async newest<T>(prefix: string, limit: number): Promise<T[]> {
    const entries = this.kv.list<T>({ prefix: [prefix] }, { reverse: true, limit });
    return (await Array.fromAsync(entries)).map((e) => e.value);
  }

  /** `kv.getMany` for any number of keys (it takes at most 10 at a time). */
  async getMany<T>(keys: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
    const reads: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      reads.push(this.kv.getMany<T[]>(keys.slice(i, i + 10)));
    }
    return (await Promise.all(reads)).flat();
  }

  /**
   * Runs read-modify-write `task`s on one key one after another in this process, so they never
   * fail each other's checks; only other processes' writes can (and are retried).
   */
  oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(key) ?? Promise.resolve();
    const run = before.catch(() => {}).then(task);
    const tail = run.catch(() => {});
    this.#queues.set(key, tail);
    tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  /** Closes the KV. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kv.close();
    await Promise.resolve();
  }
}
