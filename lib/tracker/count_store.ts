/**
 * The counts role of the tracker's store: every user's and version's transfer counts (in
 * thousandths, {@link toThousandths}), the rule that one transfer outcome counts once, the report
 * and progress grants, the transfer audit log and recent transfers, and each tracker's request
 * counters and liveness mark; behind {@link CountStore}, kept in KV by {@link KvCountStore} (keys
 * `stat`, `vstat`, `reported`, `pair_counted`, `grant`, `progress_grant`, `transfer_audit`,
 * `transfer`, `transfer_writer`, `counter`, `tracker_alive`; see the table in `kv_plumbing.ts`).
 *
 * A counted outcome appends a change entry (`counts`) so every tracker's index re-reads the
 * counts it shows.
 *
 * @module
 */
import { type KvPlumbing, RETRY, retrying } from "./kv_plumbing.ts";
import { MAX_COUNTED_PER_PAIR, REPORT_WINDOW_MS } from "../protocol/mod.ts";

/** A user's transfer counts. */
export interface PeerStats {
  /** Successful uploads to others, as reported by downloaders. */
  downloads: number;
  /** Failed or corrupt transfers, as reported by downloaders. */
  failures: number;
}

/** One reported transfer, as the audit log keeps it (who downloaded what from whom, when). */
export interface TransferAuditRecord {
  /** When it was reported, ms since the epoch. */
  at: number;
  /** The downloader. */
  downloader: string;
  /** The source. */
  source: string;
  /** The file's name. */
  name: string;
  /** The version. */
  id: string;
  /** Whether it went well. */
  ok: boolean;
  /** Bytes the source delivered. */
  bytes: number;
  /** Why it failed. */
  reason?: string;
}

/** How long reported transfers are kept in KV for the dashboards of every tracker. */
export const TRANSFER_RETENTION_MS = 3600_000;

/** A `report` as the dashboards of every tracker list it. */
export interface StoredTransfer {
  /** When it was reported, ms since the epoch. */
  at: number;
  /** Who downloaded (the reporter), or null if its session was unknown. */
  user: string | null;
  /** The file's name. */
  name: string;
  /** The version's SHA-256. */
  sha256: string;
  /** Who served it. */
  source: string;
  /** Whether the source delivered verified bytes. */
  ok: boolean;
  /** Bytes the source delivered. */
  bytes: number;
  /** Why it failed, or null. */
  reason: string | null;
  /** `ok`, or the code the tracker refused the report with. */
  outcome: string;
}

/**
 * A count as KV sums it: a `Deno.KvU64` of thousandths (fractions count to a thousandth; a
 * negative amount counts as none). {@link fromThousandths} reads it back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromThousandths, toThousandths } from "./count_store.ts";
 * assert.equal(toThousandths(0.25), 250n);
 * assert.equal(toThousandths(-3), 0n);
 * assert.equal(fromThousandths(new Deno.KvU64(toThousandths(1.5))), 1.5);
 * assert.equal(fromThousandths(null), 0);
 * ```
 */
export function toThousandths(amount: number): bigint {
  return BigInt(Math.max(0, Math.round(amount * 1000)));
}

/** The count a `Deno.KvU64` of thousandths holds (0 when there is none); see {@link toThousandths}. */
export function fromThousandths(value: Deno.KvU64 | null | undefined): number {
  return Number(value?.value ?? 0n) / 1000;
}

/** A grant to report on a source, see {@link CountStore.putGrants}. */
export interface ReportGrant {
  /** Who may report. */
  downloader: string;
  /** On which version. */
  id: string;
  /** On which source. */
  source: string;
  /** Until when, ms since the epoch. */
  until: number;
}

/** A grant to send `progress`, see {@link CountStore.putProgressGrants}. */
export interface ProgressGrant {
  /** Who may send it. */
  user: string;
  /** The file's name. */
  name: string;
  /** The version. */
  id: string;
  /** Until when, ms since the epoch. */
  until: number;
}

/** Transfer counts, grants, transfers, audit, and each tracker's request counters. */
export interface CountStore {
  /** A user's counts (zero when none). */
  getStats(user: string): Promise<PeerStats>;
  /** The counts of each of `users`. */
  getStatsMany(users: string[]): Promise<Map<string, PeerStats>>;
  /** Every user's transfer counts (users with none are left out). */
  listStats(): Promise<Map<string, PeerStats>>;
  /** Adds to a user's downloads or failures (fractions count to a thousandth). */
  addStat(user: string, kind: keyof PeerStats, amount: number): Promise<void>;
  /**
   * Counts one transfer outcome from `source` to `downloader` of version `id`: adds `amount` to
   * the source's `kind` count (and, for downloads, to the version's), unless an outcome of that
   * triple was counted in the last {@link REPORT_WINDOW_MS}, or {@link MAX_COUNTED_PER_PAIR}
   * outcomes of that kind of the pair (downloader, source) were, over all versions. False when
   * it was not counted.
   */
  countOutcome(
    outcome: { downloader: string; source: string; id: string; kind: keyof PeerStats },
    amount: number,
    now: number,
  ): Promise<boolean>;
  /** Downloads counted for each version id (zero when none). */
  getVersionDownloads(ids: string[]): Promise<Map<string, number>>;
  /** Every version's download count (versions with none are left out). */
  listVersionDownloads(): Promise<Map<string, number>>;
  /** Lets each `downloader` report once on `source` for version `id` until `until`. */
  putGrants(grants: ReportGrant[]): Promise<void>;
  /** Uses a grant up (exactly one of concurrent uses wins); false when there was none. */
  useGrant(downloader: string, id: string, source: string, now: number): Promise<boolean>;
  /** Lets each `user` send `progress` on version `id` of `name` until `until`. */
  putProgressGrants(grants: ProgressGrant[]): Promise<void>;
  /** Until when `user` may send `progress` on version `id` of `name` (0: never granted). */
  progressGrant(user: string, name: string, id: string): Promise<number>;
  /** Records a reported transfer, kept `ms`. */
  auditTransfer(record: TransferAuditRecord, ms: number): Promise<void>;
  /** The latest reported transfers, newest first. */
  listTransferAudit(limit: number): Promise<TransferAuditRecord[]>;
  /**
   * Writes transfers `writer` (one process) took, numbered from `first`, many to a commit; they
   * expire after {@link TRANSFER_RETENTION_MS}.
   */
  putTransfers(writer: string, first: number, transfers: StoredTransfer[]): Promise<void>;
  /** The writers of the transfers still kept. */
  transferWriters(): Promise<string[]>;
  /** Up to `limit` transfers of `writer` numbered `from` or more, in order, with their numbers. */
  listTransfers(
    writer: string,
    from: number,
    limit: number,
  ): Promise<{ n: number; transfer: StoredTransfer }[]>;
  /**
   * Adds to a tracker's request counters, and marks it alive for `aliveMs` (the dashboard lists
   * only trackers alive).
   */
  addCounters(tracker: string, counts: Map<string, number>, aliveMs?: number): Promise<void>;
  /** The trackers marked alive by {@link addCounters} and not stopped since. */
  liveTrackers(): Promise<Set<string>>;
  /** Marks a tracker stopped at once (it leaves the dashboard's table and sums). */
  retireTracker(tracker: string): Promise<void>;
  /** Every tracker's request counters: tracker, then counter name. */
  readCounters(): Promise<Map<string, Map<string, number>>>;
}

/**
 * {@link CountStore} on Deno KV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvStores } from "./store.ts";
 * await using stores = await openKvStores(":memory:");
 * await stores.counts.addStat("ann", "downloads", 0.5);
 * assert.deepEqual(await stores.counts.getStats("ann"), { downloads: 0.5, failures: 0 });
 * ```
 */
export class KvCountStore implements CountStore {
  readonly #kv: KvPlumbing;

  /** Counts kept through `plumbing`. */
  constructor(plumbing: KvPlumbing) {
    this.#kv = plumbing;
  }

  /** A user's counts. */
  async getStats(user: string): Promise<PeerStats> {
    return (await this.getStatsMany([user])).get(user)!;
  }

  /** The counts of each of `users`. */
  async getStatsMany(users: string[]): Promise<Map<string, PeerStats>> {
    const keys = users.flatMap((user) => [["stat", user, "downloads"], ["stat", user, "failures"]]);
    const entries = await this.#kv.getMany<Deno.KvU64>(keys);
    const stats = new Map<string, PeerStats>();
    users.forEach((user, i) => {
      stats.set(user, {
        downloads: fromThousandths(entries[2 * i]?.value),
        failures: fromThousandths(entries[2 * i + 1]?.value),
      });
    });
    return stats;
  }

  /** Every user's counts. */
  async listStats(): Promise<Map<string, PeerStats>> {
    const stats = new Map<string, PeerStats>();
    for await (const entry of this.#kv.kv.list<Deno.KvU64>({ prefix: ["stat"] })) {
      const [, user, kind] = entry.key as [string, string, keyof PeerStats];
      const mine = stats.get(user) ?? { downloads: 0, failures: 0 };
      mine[kind] = fromThousandths(entry.value);
      stats.set(user, mine);
    }
    return stats;
  }

  /** Adds to a user's count. */
  async addStat(user: string, kind: keyof PeerStats, amount: number): Promise<void> {
    const op = this.#kv.atomic().sum(["stat", user, kind], toThousandths(amount));
    await this.#kv.logChange(op, { counts: [[user, ""]] }).commit();
  }

  /** Counts one transfer outcome (see {@link CountStore.countOutcome}). */
  countOutcome(
    outcome: { downloader: string; source: string; id: string; kind: keyof PeerStats },
    amount: number,
    now: number,
  ): Promise<boolean> {
    const { downloader, source, id, kind } = outcome;
    const key = ["reported", downloader, source, id];
    const pairKey = ["pair_counted", downloader, source, kind];
    const milli = toThousandths(amount);
    // A race with another outcome of the same pair (another version) fails a check: read again.
    return retrying(async () => {
      const [seen, pair] = await this.#kv.kv.getMany<[{ at: number }, number[]]>([key, pairKey]);
      if (seen.value && now - seen.value.at < REPORT_WINDOW_MS) return false;
      const recent = (pair.value ?? []).filter((at) => now - at < REPORT_WINDOW_MS);
      if (recent.length >= MAX_COUNTED_PER_PAIR) return false;
      const op = this.#kv.atomic()
        .check(seen, pair)
        .set(key, { at: now }, { expireIn: REPORT_WINDOW_MS })
        .set(pairKey, [...recent, now], { expireIn: REPORT_WINDOW_MS })
        .sum(["stat", source, kind], milli);
      if (kind === "downloads") op.sum(["vstat", id, "downloads"], milli);
      const result = await this.#kv.logChange(op, { counts: [[source, id]] }).commit();
      return result.ok ? true : RETRY;
    }, () => false);
  }

  /** Downloads of each version. */
  async getVersionDownloads(ids: string[]): Promise<Map<string, number>> {
    const keys = ids.map((id) => ["vstat", id, "downloads"]);
    const entries = await this.#kv.getMany<Deno.KvU64>(keys);
    return new Map(ids.map((id, i) => [id, fromThousandths(entries[i]?.value)]));
  }

  /** Every version's downloads. */
  async listVersionDownloads(): Promise<Map<string, number>> {
    const downloads = new Map<string, number>();
    for await (const entry of this.#kv.kv.list<Deno.KvU64>({ prefix: ["vstat"] })) {
      downloads.set(entry.key[1] as string, fromThousandths(entry.value));
    }
    return downloads;
  }

  /** Stores report grants. */
  async putGrants(grants: ReportGrant[]): Promise<void> {
    const now = Date.now();
    await this.#kv.commitBatches(grants, (op, batch) => {
      for (const { downloader, id, source, until } of batch) {
        op.set(["grant", downloader, id, source], until, { expireIn: Math.max(1, until - now) });
      }
    });
  }

  /** Uses a report grant up. */
  async useGrant(downloader: string, id: string, source: string, now: number): Promise<boolean> {
    const entry = await this.#kv.kv.get<number>(["grant", downloader, id, source]);
    if (entry.value === null) return false;
    const result = await this.#kv.atomic().check(entry).delete(entry.key).commit();
    return result.ok && entry.value > now;
  }

  /** Stores progress grants. */
  async putProgressGrants(grants: ProgressGrant[]): Promise<void> {
    const now = Date.now();
    await this.#kv.commitBatches(grants, (op, batch) => {
      for (const { user, name, id, until } of batch) {
        op.set(["progress_grant", user, id, name], until, { expireIn: Math.max(1, until - now) });
      }
    });
  }

  /** Until when `user` may send `progress`. */
  async progressGrant(user: string, name: string, id: string): Promise<number> {
    return (await this.#kv.kv.get<number>(["progress_grant", user, id, name])).value ?? 0;
  }

  /** Records a reported transfer in the audit log. */
  auditTransfer(record: TransferAuditRecord, ms: number): Promise<void> {
    return this.#kv.appendLog("transfer_audit", record, ms);
  }

  /** The latest audited transfers, newest first. */
  listTransferAudit(limit: number): Promise<TransferAuditRecord[]> {
    return this.#kv.newest("transfer_audit", limit);
  }

  /** Writes transfers, numbered from `first`. */
  async putTransfers(writer: string, first: number, transfers: StoredTransfer[]): Promise<void> {
    const numbered = transfers.map((transfer, i) => ({ n: first + i, transfer }));
    await this.#kv.commitBatches(numbered, (op, batch) => {
      for (const { n, transfer } of batch) {
        op.set(["transfer", writer, n], transfer, { expireIn: TRANSFER_RETENTION_MS });
      }
      op.set(["transfer_writer", writer], Date.now(), { expireIn: TRANSFER_RETENTION_MS });
    }, { items: 399 });
  }

  /** The writers of the transfers still kept. */
  async transferWriters(): Promise<string[]> {
    const entries = await Array.fromAsync(this.#kv.kv.list({ prefix: ["transfer_writer"] }));
    return entries.map((e) => e.key[1] as string);
  }

  /** Transfers of `writer` from `from` on. */
  async listTransfers(
    writer: string,
    from: number,
    limit: number,
  ): Promise<{ n: number; transfer: StoredTransfer }[]> {
    const entries = this.#kv.kv.list<StoredTransfer>(
      { prefix: ["transfer", writer], start: ["transfer", writer, from] },
      { limit },
    );
    return (await Array.fromAsync(entries)).map((e) => ({
      n: e.key[2] as number,
      transfer: e.value,
    }));
  }

  /** Adds to a tracker's request counters. */
  async addCounters(
    tracker: string,
    counts: Map<string, number>,
    aliveMs?: number,
  ): Promise<void> {
    if (aliveMs !== undefined) {
      // The value is when it stops counting: an expired key may still be read for a while.
      await this.#kv.atomic()
        .set(["tracker_alive", tracker], Date.now() + aliveMs, { expireIn: aliveMs })
        .commit();
    }
    await this.#kv.commitBatches([...counts].filter(([, n]) => n > 0), (op, batch) => {
      for (const [name, n] of batch) op.sum(["counter", tracker, name], BigInt(Math.round(n)));
    });
  }

  /** The trackers alive. */
  async liveTrackers(): Promise<Set<string>> {
    const live = new Set<string>();
    const now = Date.now();
    for await (const entry of this.#kv.kv.list<number>({ prefix: ["tracker_alive"] })) {
      if (entry.value > now) live.add(entry.key[1] as string);
    }
    return live;
  }

  /** Marks a tracker stopped. */
  async retireTracker(tracker: string): Promise<void> {
    await this.#kv.atomic().delete(["tracker_alive", tracker]).commit();
  }

  /** Every tracker's request counters. */
  async readCounters(): Promise<Map<string, Map<string, number>>> {
    const counters = new Map<string, Map<string, number>>();
    for await (const entry of this.#kv.kv.list<Deno.KvU64>({ prefix: ["counter"] })) {
      const [, tracker, name] = entry.key as [string, string, string];
      let mine = counters.get(tracker);
      if (!mine) counters.set(tracker, mine = new Map());
      mine.set(name, Number(entry.value.value));
    }
    return counters;
  }
}
