/**
 * The dashboard's read model: what the pages and the JSON API show, computed from the tracker's
 * store and the {@link EventLog}. Nothing here writes, and nothing secret (password hashes, session
 * hashes, tokens) ever leaves: every view is built field by field.
 *
 * @module
 */
import { decodeHaveMap } from "../protocol/mod.ts";
import {
  HolderIndex,
  type IndexedVersion,
  MISSED_HEARTBEATS_OFFLINE,
  type PartialHolders,
  type PeerRecord,
  type TrackerStore,
} from "../tracker/mod.ts";
import type { EventLog, MinuteBucket, TransferRecord } from "./event_log.ts";

/** What the dashboard reads from. */
export interface DashboardSource {
  /** The tracker's store (read only). */
  store: TrackerStore;
  /** The tracker's heartbeat interval: a peer silent for 3 is offline. */
  heartbeatMs: number;
  /** Events since the tracker started. */
  events: EventLog;
  /** Downloads in progress that serve what they have (the tracker's, read only). */
  partialHolders?: PartialHolders;
  /**
   * The tracker's holder index (kept current from the change log). Without it each page reads
   * every holder row from the store, which suits only small stores and tests.
   */
  index?: () => Promise<HolderIndex>;
  /** This tracker's name among the trackers sharing the store (marks it in {@link Stats}). */
  trackerId?: string;
  /** This process's number among the tracker's workers (`--workers`), told by `/healthz`. */
  worker?: number;
}

/** One tracker of those sharing the store, by the request counts it wrote. */
export interface TrackerView {
  /** Its name. */
  id: string;
  /** Requests it answered since the store was created (written about once a second). */
  requests: number;
  /** Of those, refused or failed. */
  errors: number;
  /** Whether it is the tracker serving this page. */
  self: boolean;
}

/** The overview's numbers (`/api/stats`). */
export interface Stats {
  /** Peers whose session is live and who heartbeat in time. */
  peersOnline: number;
  /** Peers that ever announced. */
  peersTotal: number;
  /** File versions (name and content) anyone announced. */
  files: number;
  /** File versions with at least one online source. */
  filesOnline: number;
  /** Bytes of the file versions with an online source, each version counted once. */
  bytesShared: number;
  /** Transfers reported as working in the last hour. */
  transfersLastHour: number;
  /** Transfers reported as failed in the last hour. */
  failuresLastHour: number;
  /** Bytes reported transferred in the last hour. */
  bytesLastHour: number;
  /** The files with the most transfers since the tracker started, most first (at most 5). */
  busiestFiles: { name: string; transfers: number; bytes: number }[];
  /** Transfers per minute over the last hour, oldest first. */
  perMinute: MinuteBucket[];
  /** When the tracker (its event log) started, ms since the epoch. */
  startedAt: number;
  /** Every tracker on this store, with its request counts; the whole cluster is their sum. */
  trackers: TrackerView[];
  /** When these numbers were read, ms since the epoch. */
  now: number;
}

/** One row of the peers table (`/api/peers`). */
export interface PeerView {
  /** User name. */
  user: string;
  /** `HOST:PORT` it serves on. */
  address: string;
  /** Whether it is online now. */
  online: boolean;
  /** Last announce or heartbeat, ms since the epoch. */
  lastSeen: number;
  /** Downloads others reported from it (fractions for partial deliveries). */
  downloads: number;
  /** Failed transfers others reported from it. */
  failures: number;
  /** How many files it shares. */
  filesShared: number;
  /** Their total size in bytes. */
  bytesShared: number;
}

/** One row of the files table (`/api/files`): one version of a file. */
export interface FileView {
  /** Shared name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256 of the whole file. */
  sha256: string;
  /** Its manifest id. */
  id: string;
  /** Holders online now. */
  sourcesOnline: number;
  /** Holders in all. */
  holders: number;
}

/** One holder of a version, on a file's page. */
export interface HolderView {
  /** User name. */
  user: string;
  /** `HOST:PORT` it serves on. */
  address: string;
  /** Whether it is online now. */
  online: boolean;
  /** Last announce or heartbeat, ms since the epoch. */
  lastSeen: number;
  /** Whether it holds the whole file (false: a download in progress serving what it has). */
  complete: boolean;
  /** Share of the file it holds, 0-1. */
  progress: number;
  /** A download in progress that said no online peer has the chunks it still needs. */
  stalled?: boolean;
  /** Downloads others reported from it. */
  downloads: number;
  /** Failed transfers others reported from it. */
  failures: number;
}

/** One version of a file with its chunk map. */
export interface VersionView {
  /** Its manifest id. */
  id: string;
  /** SHA-256 of the whole file. */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** Chunk size in bytes. */
  chunkSize: number;
  /** Number of chunks. */
  chunks: number;
  /** Holders online now. */
  sourcesOnline: number;
  /**
   * For each chunk, how many online sources hold it: every complete holder, plus each download in
   * progress that has verified it (from the have-map it sends with its progress).
   */
  chunkMap: number[];
  /** Every holder. */
  holders: HolderView[];
}

/** A file's page (`/api/files/{name}`). */
export interface FileDetailView {
  /** Shared name. */
  name: string;
  /** Every version under that name, the most online sources first. */
  versions: VersionView[];
  /** Its transfers since the tracker started, newest first (at most 100). */
  transfers: TransferRecord[];
}

/** Whether a peer counts as online at `now` (the same rule as the tracker's). */
export function isOnline(peer: PeerRecord, heartbeatMs: number, now: number): boolean {
  return peer.online && now - peer.lastSeen <= MISSED_HEARTBEATS_OFFLINE * heartbeatMs;
}

/** `HOST:PORT`, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The holder index the pages read: the tracker's, or one read from the store now. */
export async function readIndex(source: DashboardSource): Promise<HolderIndex> {
  if (source.index) return await source.index();
  const [holders, peers] = await Promise.all([
    source.store.listHolders(),
    source.store.listPeers(),
  ]);
  const index = new HolderIndex();
  for (const [user, peer] of peers) index.setPeer(user, peer);
  for (const row of holders) index.setHolder(row);
  return index;
}

async function snapshot(
  source: DashboardSource,
): Promise<{ index: HolderIndex; online: (user: string) => boolean; now: number }> {
  const index = await readIndex(source);
  const now = source.events.now();
  const online = (user: string) => {
    const peer = index.peer(user);
    return peer !== undefined && isOnline(peer, source.heartbeatMs, now);
  };
  return { index, online, now };
}

function summarize(version: IndexedVersion, online: (user: string) => boolean): FileView {
  let sourcesOnline = 0;
  for (const user of version.holders.keys()) if (online(user)) sourcesOnline++;
  const { name, size, sha256, id } = version;
  return { name, size, sha256, id, sourcesOnline, holders: version.holders.size };
}

/**
 * The overview's numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvTrackerStore } from "../tracker/mod.ts";
 * import { EventLog, readStats } from "./mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const stats = await readStats({ store, heartbeatMs: 10_000, events: new EventLog() });
 * assert.equal(stats.peersTotal, 0);
 * ```
 */
export async function readStats(source: DashboardSource): Promise<Stats> {
  const { index, online, now } = await snapshot(source);
  const peers = index.peers;
  const files = index.versions.map((v) => summarize(v, online));
  const lastHour = source.events.transfers({ since: now - 3600_000 });
  const busy = new Map<string, { name: string; transfers: number; bytes: number }>();
  for (const t of source.events.transfers()) {
    if (!t.ok) continue;
    const entry = busy.get(t.name) ?? { name: t.name, transfers: 0, bytes: 0 };
    entry.transfers++;
    entry.bytes += t.bytes;
    busy.set(t.name, entry);
  }
  return {
    peersOnline: [...peers.keys()].filter(online).length,
    peersTotal: peers.size,
    files: files.length,
    filesOnline: files.filter((f) => f.sourcesOnline > 0).length,
    bytesShared: files.reduce((sum, f) => sum + (f.sourcesOnline > 0 ? f.size : 0), 0),
    transfersLastHour: lastHour.filter((t) => t.ok).length,
    failuresLastHour: lastHour.filter((t) => !t.ok).length,
    bytesLastHour: lastHour.reduce((sum, t) => sum + t.bytes, 0),
    busiestFiles: [...busy.values()]
      .sort((a, b) => b.transfers - a.transfers || b.bytes - a.bytes || cmp(a.name, b.name))
      .slice(0, 5),
    perMinute: source.events.perMinute(60),
    startedAt: source.events.startedAt,
    trackers: await readTrackers(source),
    now,
  };
}

/** The trackers that wrote request counts to the store, by name. */
export async function readTrackers(source: DashboardSource): Promise<TrackerView[]> {
  const counters = await source.store.readCounters();
  return [...counters].map(([id, counts]) => {
    let requests = 0;
    let errors = 0;
    for (const [key, n] of counts) {
      requests += n;
      if (!key.endsWith(":ok")) errors += n;
    }
    return { id, requests, errors, self: id === source.trackerId };
  }).sort((a, b) => cmp(a.id, b.id));
}

/** Every peer that ever announced, by user name. */
export async function readPeers(source: DashboardSource): Promise<PeerView[]> {
  const { index, now } = await snapshot(source);
  const peers = [...index.peers];
  const allStats = source.index
    ? new Map(peers.map(([user]) => [user, index.stats(user)]))
    : await source.store.getStatsMany(peers.map(([user]) => user));
  const views = peers.map(([user, peer]): PeerView => {
    const stats = allStats.get(user) ?? { downloads: 0, failures: 0 };
    const shares = index.sharesOf(user);
    return {
      user,
      address: formatHostPort(peer.host, peer.port),
      online: isOnline(peer, source.heartbeatMs, now),
      lastSeen: peer.lastSeen,
      downloads: stats.downloads,
      failures: stats.failures,
      filesShared: shares.length,
      bytesShared: shares.reduce((sum, row) => sum + row.size, 0),
    };
  });
  return views.sort((a, b) => cmp(a.user, b.user));
}

/**
 * Every file version whose name contains `search` (any case), by name, the version with the most
 * online sources first.
 */
export async function readFiles(source: DashboardSource, search = ""): Promise<FileView[]> {
  const { index, online } = await snapshot(source);
  const needle = search.toLowerCase();
  // The index keeps versions in (name, id) order already.
  return index.versions.filter((v) => v.lowerName.includes(needle))
    .map((v) => summarize(v, online));
}

/** A file's versions, holders and chunk maps, or null when nobody shares that name. */
export async function readFile(
  source: DashboardSource,
  name: string,
): Promise<FileDetailView | null> {
  const { index, now } = await snapshot(source);
  const held = index.versionsOf(name);
  if (held.length === 0) return null;
  const peers = index.peers;
  const versions: VersionView[] = [];
  for (const version of held) {
    const id = version.id;
    const rows = [...version.holders.values()];
    const first = version;
    const hashes = await source.store.getChunkHashes(id);
    const chunks = hashes?.length ?? Math.max(1, Math.ceil(first.size / first.chunkSize));
    const holderViews = await Promise.all(rows.map(async (h): Promise<HolderView> => {
      const peer = peers.get(h.user);
      const stats = source.index ? index.stats(h.user) : await source.store.getStats(h.user);
      return {
        user: h.user,
        address: peer ? formatHostPort(peer.host, peer.port) : "",
        online: peer !== undefined && isOnline(peer, source.heartbeatMs, now),
        lastSeen: peer?.lastSeen ?? 0,
        complete: true,
        progress: 1,
        downloads: stats.downloads,
        failures: stats.failures,
      };
    }));
    holderViews.sort((a, b) => Number(b.online) - Number(a.online) || cmp(a.user, b.user));
    const sourcesOnline = holderViews.filter((h) => h.online).length;
    const chunkMap = new Array<number>(chunks).fill(sourcesOnline);
    // Downloads in progress: listed after the holders, counted where their have-maps say.
    for (const p of source.partialHolders?.list(name, id, rows) ?? []) {
      const stats = await source.store.getStats(p.user);
      holderViews.push({
        user: p.user,
        address: formatHostPort(p.host, p.port),
        online: true,
        lastSeen: p.updatedAt,
        complete: p.progress >= 1,
        progress: p.progress,
        ...(p.stalled ? { stalled: true } : {}),
        downloads: stats.downloads,
        failures: stats.failures,
      });
      let have: Uint8Array | undefined;
      try {
        have = p.have === undefined ? undefined : decodeHaveMap(p.have, chunks);
      } catch {
        have = undefined; // a map that does not fit this version counts for nothing
      }
      if (have) { for (let i = 0; i < chunks; i++) chunkMap[i]! += have[i]!; }
      else if (p.progress >= 1) { for (let i = 0; i < chunks; i++) chunkMap[i]!++; }
    }
    versions.push({
      id,
      sha256: first.sha256,
      size: first.size,
      chunkSize: first.chunkSize,
      chunks,
      sourcesOnline,
      chunkMap,
      holders: holderViews,
    });
  }
  versions.sort((a, b) =>
    b.sourcesOnline - a.sourcesOnline || b.holders.length - a.holders.length ||
    cmp(a.id, b.id)
  );
  return { name, versions, transfers: source.events.transfers({ name, limit: 100 }) };
}

/** Plain code-point order, the same in every locale. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
