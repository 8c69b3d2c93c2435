/**
 * The holder index in memory: every shared version, who holds it, where those holders listen, and
 * the transfer counts that rank them.
 * It is kept current by applying rows one at a time ({@link HolderIndex.setHolder},
 * {@link HolderIndex.deleteHolder}, {@link HolderIndex.setPeer}, {@link HolderIndex.alive}), so
 * a change costs a lookup and at most one insertion into the sorted version list, never a
 * rebuild. Pure: no I/O, no clock.
 *
 * A holder row carries every field of its {@link HolderRecord}, so a field added to the record
 * (a download's progress, say) reaches every reader of the index without a change here.
 *
 * @module
 */
import type { PeerStats } from "./count_store.ts";
import type { AliveRecord, HolderRow, PeerRecord } from "./index_store.ts";
import { compareText } from "./paging.ts";

/** One shared version of a file and who holds it. */
export interface IndexedVersion {
  /** File name. */
  readonly name: string;
  /** The name in lower case, for searches. */
  readonly lowerName: string;
  /** Size in bytes. */
  readonly size: number;
  /** SHA-256 of the whole file. */
  readonly sha256: string;
  /** Chunk size. */
  readonly chunkSize: number;
  /** The manifest id. */
  readonly id: string;
  /** Its holders' rows, by user. */
  readonly holders: Map<string, HolderRow>;
}

/** (name, id) order, the order of `list`. */
function compareVersions(a: { name: string; id: string }, b: { name: string; id: string }): number {
  return compareText(a.name, b.name) || compareText(a.id, b.id);
}

/**
 * Versions, holders and addresses, indexed for `list`, `details`, `holders` and the dashboard.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HolderIndex } from "./holder_index.ts";
 * const index = new HolderIndex();
 * const row = { name: "a.txt", id: "1".repeat(64), user: "ann", size: 3, chunkSize: 1, sha256: "" };
 * index.setHolder(row);
 * assert.equal(index.versions.length, 1);
 * index.deleteHolder("a.txt", row.id, "ann");
 * assert.equal(index.versions.length, 0);
 * ```
 */
export class HolderIndex {
  /** Every version with at least one holder, in (name, id) order. */
  readonly versions: IndexedVersion[] = [];
  readonly #byName = new Map<string, IndexedVersion[]>();
  readonly #byUser = new Map<string, Map<string, HolderRow>>();
  readonly #peers = new Map<string, PeerRecord>();
  readonly #alive = new Map<string, AliveRecord>();
  readonly #stats = new Map<string, PeerStats>();
  readonly #downloads = new Map<string, number>();
  #rows = 0;

  /** How many holder rows it holds. */
  get rows(): number {
    return this.#rows;
  }

  /** Adds or replaces a holder row. */
  setHolder(row: HolderRow): void {
    const mine = this.#byUser.get(row.user) ?? new Map<string, HolderRow>();
    this.#byUser.set(row.user, mine);
    const key = `${row.name}\u0000${row.id}`;
    if (!mine.has(key)) this.#rows++;
    mine.set(key, row);
    let version = this.version(row.name, row.id);
    if (!version) {
      version = {
        name: row.name,
        lowerName: row.name.toLowerCase(),
        size: row.size,
        sha256: row.sha256,
        chunkSize: row.chunkSize,
        id: row.id,
        holders: new Map(),
      };
      this.versions.splice(this.#position(version), 0, version);
      const same = this.#byName.get(row.name);
      if (same) same.push(version);
      else this.#byName.set(row.name, [version]);
    }
    version.holders.set(row.user, row);
  }

  /** Removes a holder row, and its version when it was the last holder. */
  deleteHolder(name: string, id: string, user: string): void {
    const mine = this.#byUser.get(user);
    if (mine?.delete(`${name}\u0000${id}`)) this.#rows--;
    if (mine?.size === 0) this.#byUser.delete(user);
    const version = this.version(name, id);
    if (!version) return;
    version.holders.delete(user);
    if (version.holders.size > 0) return;
    const at = this.#position(version);
    if (this.versions[at] === version) this.versions.splice(at, 1);
    const same = this.#byName.get(name)!.filter((v) => v !== version);
    if (same.length > 0) this.#byName.set(name, same);
    else this.#byName.delete(name);
  }

  /** Sets (or with null, removes) a user's address record. */
  setPeer(user: string, record: PeerRecord | null): void {
    if (!record) {
      this.#peers.delete(user);
      return;
    }
    const alive = this.#alive.get(user);
    const lastSeen = alive && alive.session === record.session
      ? Math.max(alive.lastSeen, record.lastSeen)
      : record.lastSeen;
    this.#peers.set(user, { ...record, lastSeen });
  }

  /** A heartbeat: moves the user's `lastSeen` forward if it is for the session that announced. */
  alive(user: string, record: AliveRecord): void {
    const known = this.#alive.get(user);
    if (!known || known.session !== record.session || known.lastSeen < record.lastSeen) {
      this.#alive.set(user, record);
    }
    const peer = this.#peers.get(user);
    if (peer && peer.session === record.session && peer.lastSeen < record.lastSeen) {
      this.#peers.set(user, { ...peer, lastSeen: record.lastSeen });
    }
  }

  /** Sets a user's transfer counts. */
  setStats(user: string, stats: PeerStats): void {
    if (stats.downloads === 0 && stats.failures === 0) this.#stats.delete(user);
    else this.#stats.set(user, stats);
  }

  /** A user's transfer counts (zero when none). */
  stats(user: string): PeerStats {
    return this.#stats.get(user) ?? { downloads: 0, failures: 0 };
  }

  /** Sets a version's download count. */
  setDownloads(id: string, downloads: number): void {
    if (downloads === 0) this.#downloads.delete(id);
    else this.#downloads.set(id, downloads);
  }

  /** A version's download count (zero when none). */
  downloads(id: string): number {
    return this.#downloads.get(id) ?? 0;
  }

  /** The version `id` of `name`, if anyone holds it. */
  version(name: string, id: string): IndexedVersion | undefined {
    return this.#byName.get(name)?.find((v) => v.id === id);
  }

  /** The held versions of `name` (empty when nobody shares it). */
  versionsOf(name: string): readonly IndexedVersion[] {
    return this.#byName.get(name) ?? [];
  }

  /** What `user` shares. */
  sharesOf(user: string): HolderRow[] {
    return [...(this.#byUser.get(user)?.values() ?? [])];
  }

  /** A user's address record, with the latest heartbeat heard; undefined if never announced. */
  peer(user: string): PeerRecord | undefined {
    return this.#peers.get(user);
  }

  /** Every address record, by user. */
  get peers(): ReadonlyMap<string, PeerRecord> {
    return this.#peers;
  }

  /** Where `version` belongs in {@link versions} (or is). */
  #position(version: { name: string; id: string }): number {
    let low = 0;
    let high = this.versions.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareVersions(this.versions[mid]!, version) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
