/**
 * The file index's requests: `announce` writes holder rows and the peer's address (each commit
 * with its change-log entry); `list`, `holders`, `details` and `locate` answer from this
 * tracker's {@link HolderIndex}, which an {@link IndexFollower} keeps current from the log.
 *
 * A field added to holder records (how much of a file a holder has, say) is stored by the store,
 * carried through the index in each {@link HolderRow}, and needs only its use here.
 *
 * @module
 */
import {
  checkManifest,
  type FileDetails,
  type FileSummary,
  type HolderInfo,
  MAX_PAGE_ENTRIES,
  MAX_VERSIONS_LISTED,
  ProtocolError,
  type TrackerRequest,
  type VersionInfo,
} from "../protocol/mod.ts";
import type { HolderIndex, IndexedVersion } from "./holder_index.ts";
import type { IndexFollower } from "./index_follower.ts";
import type { Liveness } from "./liveness.ts";
import { partialHolderInfos, PartialHolders } from "./partial_holders.ts";
import { compareText, startAfter, takePage } from "./paging.ts";
import { ProgressGrants } from "./progress_grants.ts";
import type { ChangeEntry } from "./change_log.ts";
import type { HolderRow, IndexStore } from "./index_store.ts";
import type { TrackerStores } from "./store.ts";
import { type Reply, type RequestContext, TrackerError } from "./tracker_error.ts";

/**
 * Chunk hashes of manifests kept in memory (about 80 bytes each: 40 MB at most); the least
 * recently used manifests go first. 100,000 files of a few chunks fit whole.
 */
const MANIFEST_CACHE_HASHES = 500_000;

/** Settings of a {@link FileIndex}. */
export interface FileIndexOptions {
  /** The clock. */
  now: () => number;
  /** Record the host a peer names in `announce` instead of its connection's address. */
  trustAnnouncedHosts: boolean;
}

/**
 * `announce`, `list`, `holders`, `details` and `locate`.
 *
 * @example
 * ```ts ignore
 * const files = new FileIndex(store, follower, liveness, { now: Date.now, trustAnnouncedHosts: false });
 * await files.list({ type: "list", token });
 * ```
 */
export class FileIndex {
  readonly #store: IndexStore;
  readonly #follower: IndexFollower;
  readonly #liveness: Liveness;
  readonly #options: FileIndexOptions;
  /** Manifests by id: content-addressed, so once read they never change. */
  readonly #manifests = new Map<string, string[]>();
  #cachedHashes = 0;

  /** The index over `stores`, read through `follower`. */
  constructor(
    stores: Pick<TrackerStores, "index" | "counts">,
    follower: IndexFollower,
    liveness: Liveness,
    options: FileIndexOptions,
  ) {
    this.#store = stores.index;
    this.#follower = follower;
    this.#liveness = liveness;
    this.#options = options;
    this.partial = new PartialHolders(options.now, stores.index);
    this.progressGrants = new ProgressGrants(options.now, stores.counts);
  }

  /**
   * Downloads in progress that serve what they have verified (`progress` requests): this
   * tracker's copy of the cluster's, written to KV in batches and kept current from the change
   * log (the service wires the log to it and flushes it).
   */
  readonly partial: PartialHolders;

  /**
   * Who may send `progress` on which version: granted by `details` ({@link grantProgress}), kept
   * in the store so every tracker on one KV sees it; flushed by the service with report grants.
   */
  readonly progressGrants: ProgressGrants;

  /** Lets `user`, just handed version `id` of `name` by `details`, send `progress` on it. */
  grantProgress(user: string, name: string, id: string): void {
    this.progressGrants.grant(user, name, id);
  }

  /**
   * Records or withdraws a partial holder; its host is recorded like an announce's. A withdrawal
   * is always accepted; otherwise the version must be in the index (`NOT_FOUND`) and `user` must
   * have been handed it by a recent `details` (`FORBIDDEN`), within the caps of
   * {@link PartialHolders.update}. An accepted update renews the grant.
   */
  async progress(
    user: string,
    request: Omit<Extract<TrackerRequest, { type: "progress" }>, "type" | "token">,
    context: RequestContext,
  ): Promise<void> {
    const host = this.#recordedHost(request.host, context);
    const { name, id, port, tls, progress, have, withdraw, stalled, sources } = request;
    const holder = {
      user,
      host,
      port,
      progress,
      ...(tls ? { tls } : {}),
      ...(have ? { have } : {}),
      ...(stalled ? { stalled } : {}),
      ...(sources && sources.length > 0 ? { sources: [...sources].sort() } : {}),
    };
    if (withdraw) {
      this.partial.update(name, id, holder, true);
      return;
    }
    if (!(await this.index()).version(name, id)) {
      throw new TrackerError(
        "NOT_FOUND",
        `Cannot record progress: ${name} has no version ${id.slice(0, 12)} that anyone shares`,
      );
    }
    if (!(await this.progressGrants.allows(user, name, id))) {
      throw new TrackerError(
        "FORBIDDEN",
        `Cannot record progress: version ${
          id.slice(0, 12)
        } of ${name} was not handed to you in a recent details`,
      );
    }
    this.partial.update(name, id, holder);
    this.progressGrants.grant(user, name, id);
  }

  /**
   * The holder row standing for `user` as a live partial holder of version `id` of `name` (size,
   * chunking and hash of the version), so reports on partial sources count; null if it is not one.
   */
  async partialHolder(name: string, id: string, user: string): Promise<HolderRow | null> {
    const version = (await this.index()).version(name, id);
    if (!version || !this.partial.list(name, id).some((h) => h.user === user)) return null;
    const { size, chunkSize, sha256 } = version;
    return { name, id, user, size, chunkSize, sha256 };
  }

  /**
   * The host recorded for a peer that names `named`: where its connection comes from, unless the
   * tracker was told to trust announced hosts (NAT, proxies) or the caller is in-process. The
   * peer chooses only its port.
   */
  #recordedHost(named: string, context: RequestContext): string {
    return this.#options.trustAnnouncedHosts || context.address === undefined
      ? named
      : context.address;
  }

  /** The index to answer from. */
  index(): Promise<HolderIndex> {
    return this.#follower.current();
  }

  /** Records what `user` shares and where it listens. */
  async announce(
    user: string,
    tokenHash: string,
    request: Extract<TrackerRequest, { type: "announce" }>,
    context: RequestContext,
  ): Promise<Reply> {
    for (const file of request.files) {
      try {
        checkManifest(file);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        throw new TrackerError("INVALID", error.message);
      }
    }
    const host = this.#recordedHost(request.host, context);
    const now = this.#options.now();
    await this.#store.putPeer(user, {
      host,
      port: request.port,
      lastSeen: now,
      online: true,
      session: tokenHash,
      ...(request.tls ? { tls: true } : {}),
    });
    const holders = await this.#store.putShares(user, request.files, request.replace, now);
    // This tracker's own writes show at once; other trackers see them within a tail interval.
    await this.#follower.applyLocal({ holders, peers: [user] });
    return { type: "ok", host, port: request.port };
  }

  /** Marks `user` offline (its announcing session ended). */
  async offline(user: string, endedSessions: string[]): Promise<void> {
    const peer = await this.#store.getPeer(user);
    if (!peer || !endedSessions.includes(peer.session)) return;
    await this.#store.putPeer(user, { ...peer, online: false });
    await this.#follower.applyLocal({ peers: [user] });
  }

  /** `user`'s address record from the index (with the latest heartbeat), or `NOT_FOUND`. */
  async locate(user: string): Promise<Reply> {
    const index = await this.index();
    const peer = index.peer(user) ?? await this.#store.getPeer(user);
    if (!peer) {
      throw new TrackerError("NOT_FOUND", `Cannot locate peer: ${user} has never announced`);
    }
    return {
      type: "peer",
      user,
      host: peer.host,
      port: peer.port,
      online: this.#liveness.isOnline(peer),
      ...(peer.tls ? { tls: true } : {}),
    };
  }

  /**
   * One page of `list`: versions in (name, id) order, from after `cursor` (the last page's
   * `next`), at most `limit` and {@link MAX_PAGE_BYTES} of them.
   */
  async list(
    request: { search?: string; all?: boolean; cursor?: string; limit?: number },
  ): Promise<Reply> {
    const index = await this.index();
    const needle = (request.search ?? "").toLowerCase();
    const all = request.all ?? false;
    const cursor = request.cursor;
    const from = cursor === undefined ? 0 : startAfter(
      index.versions,
      { id: cursor.slice(0, 64), name: cursor.slice(64) },
      (v, c) => compareText(v.name, c.name) || compareText(v.id, c.id),
    );
    const sources = (version: IndexedVersion) => this.#onlineHolders(index, version);
    function* matching(): Generator<FileSummary> {
      for (let i = from; i < index.versions.length; i++) {
        const version = index.versions[i]!;
        if (needle && !version.lowerName.includes(needle)) continue;
        const online = sources(version);
        if (!all && online === 0) continue;
        const { name, size, sha256, id } = version;
        yield { name, size, sha256, id, sources: online };
      }
    }
    const page = takePage(matching(), request.limit ? { maxEntries: request.limit } : {});
    const last = page.entries.at(-1);
    return {
      type: "files",
      files: page.entries,
      ...(page.more && last ? { next: `${last.id}${last.name}` } : {}),
    };
  }

  /** One page of the holders of version `id` of `name`, by user name, after `cursor`. */
  async holders(
    name: string,
    id: string,
    cursor: string | undefined,
  ): Promise<{ peers: HolderInfo[]; next?: string }> {
    const index = await this.index();
    const holders = [...(index.version(name, id)?.holders.values() ?? [])]
      .sort((a, b) => compareText(a.user, b.user));
    const from = cursor === undefined
      ? 0
      : startAfter(holders, cursor, (h, c) => compareText(h.user, c));
    const rows = holders.slice(from, from + MAX_PAGE_ENTRIES).filter((h) => index.peer(h.user));
    const more = from + MAX_PAGE_ENTRIES < holders.length;
    // Downloads in progress that serve what they have come on the first page.
    const partial = cursor === undefined ? this.partial.list(name, id, holders) : [];
    // Counts come from the index too (kept current from the change log like the rows).
    const stats = new Map(
      [...rows, ...partial].map((h) => [h.user, index.stats(h.user)] as const),
    );
    const liveness = this.#liveness;
    function* infos(): Generator<HolderInfo> {
      for (const holder of rows) {
        const peer = index.peer(holder.user)!;
        yield {
          user: holder.user,
          host: peer.host,
          port: peer.port,
          online: liveness.isOnline(peer),
          ...(peer.tls ? { tls: true } : {}),
          lastSeen: peer.lastSeen,
          ...(stats.get(holder.user) ?? { downloads: 0, failures: 0 }),
          complete: true,
          progress: 1,
        };
      }
      yield* partialHolderInfos(partial, stats);
    }
    const page = takePage(infos());
    const last = page.entries.at(-1) ?? rows.at(-1);
    return {
      peers: page.entries,
      ...((page.more || more) && last ? { next: last.user } : {}),
    };
  }

  /**
   * The version of `name` asked for (`sha256` exactly, or `version`, a prefix of an id or a
   * SHA-256), else the one `get` would choose: the most online holders, then the most downloads,
   * then the most holders, then the lowest id.
   */
  async details(
    name: string,
    ask: { sha256?: string; version?: string },
  ): Promise<Omit<FileDetails, "type">> {
    const index = await this.index();
    const held = index.versionsOf(name);
    if (held.length === 0) {
      throw new TrackerError("NOT_FOUND", `Cannot find file: ${name} is not shared`);
    }
    const downloads = new Map(held.map((v) => [v.id, index.downloads(v.id)]));
    const versions: VersionInfo[] = held.map((v) => ({
      id: v.id,
      sha256: v.sha256,
      size: v.size,
      chunkSize: v.chunkSize,
      holders: v.holders.size,
      online: this.#onlineHolders(index, v),
      downloads: downloads.get(v.id) ?? 0,
    })).sort((a, b) =>
      b.online - a.online || b.downloads - a.downloads || b.holders - a.holders ||
      (a.id < b.id ? -1 : 1)
    );
    const chosen = pickVersion(versions, ask);
    if (!chosen) {
      const wanted = ask.sha256 ?? ask.version;
      throw new TrackerError(
        "NOT_FOUND",
        `Cannot find file: ${name} has no version ${wanted} (it has ${
          versions.map((v) => v.id.slice(0, 12)).join(", ")
        })`,
      );
    }
    const chunkHashes = await this.#chunkHashes(chosen.id);
    if (!chunkHashes) {
      throw new TrackerError("NOT_FOUND", `Cannot find file: ${name} has no manifest`);
    }
    const page = await this.holders(name, chosen.id, undefined);
    return {
      name,
      id: chosen.id,
      size: chosen.size,
      sha256: chosen.sha256,
      chunkSize: chosen.chunkSize,
      chunkHashes,
      peers: page.peers,
      versions: versions.slice(0, MAX_VERSIONS_LISTED),
      ...(page.next ? { next: page.next } : {}),
    };
  }

  /** Applies a change this tracker just wrote, so its next answers show it. */
  async applyLocal(change: ChangeEntry): Promise<void> {
    await this.#follower.applyLocal(change);
  }

  /** The holder row of `source` for version `id` of `name`, read from the store, or null. */
  async holder(name: string, id: string, source: string): Promise<HolderRow | null> {
    return (await this.#store.getHolders([[name, id, source]]))[0] ?? null;
  }

  /** How many of a version's holders are online. */
  #onlineHolders(index: HolderIndex, version: IndexedVersion): number {
    let online = 0;
    for (const user of version.holders.keys()) {
      const peer = index.peer(user);
      if (peer && this.#liveness.isOnline(peer)) online++;
    }
    return online;
  }

  /** A manifest's chunk hashes: content-addressed, so once read they never change. */
  async #chunkHashes(id: string): Promise<string[] | null> {
    const cached = this.#manifests.get(id);
    if (cached) {
      this.#manifests.delete(id); // re-insert: least recently used first
      this.#manifests.set(id, cached);
      return cached;
    }
    const hashes = await this.#store.getChunkHashes(id);
    if (hashes) {
      this.#manifests.set(id, hashes);
      this.#cachedHashes += hashes.length;
      while (this.#cachedHashes > MANIFEST_CACHE_HASHES && this.#manifests.size > 1) {
        const [oldest, dropped] = this.#manifests.entries().next().value!;
        this.#manifests.delete(oldest);
        this.#cachedHashes -= dropped.length;
      }
    }
    return hashes;
  }
}

/**
 * The version asked for, from `versions` in order of preference: the first whose SHA-256 is
 * `sha256`, or whose id or SHA-256 starts with `version`; with neither, the first. A prefix that
 * matches several versions is refused as ambiguous.
 */
function pickVersion(
  versions: VersionInfo[],
  ask: { sha256?: string; version?: string },
): VersionInfo | undefined {
  if (ask.sha256) return versions.find((v) => v.sha256 === ask.sha256);
  const prefix = ask.version;
  if (!prefix) return versions[0];
  const matches = versions.filter((v) => v.id.startsWith(prefix) || v.sha256.startsWith(prefix));
  if (matches.length > 1) {
    throw new TrackerError(
      "INVALID",
      `Cannot choose a version: ${prefix} matches ${matches.length} versions (${
        matches.map((v) => v.id.slice(0, 12)).join(", ")
      }); give more digits`,
    );
  }
  return matches[0];
}
