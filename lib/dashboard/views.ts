/**
 * The dashboard's read model: what the pages and the JSON API show, computed from the tracker's
 * store, its partial holders and the {@link EventLog}; every count comes from `counts.ts`, so
 * every page agrees. Nothing here writes, and nothing secret (password hashes, session
 * hashes, tokens) ever leaves: every view is built field by field.
 *
 * @module
 */
import { decodeHaveMap } from "../protocol/mod.ts";
import {
  HolderIndex,
  type IndexedVersion,
  isOnline,
  type PartialHolders,
  type TrackerStore,
} from "../tracker/mod.ts";
import {
  countPeers,
  countSwarm,
  countWindow,
  inProgress,
  peersOnline,
  type SwarmCounts,
} from "./counts.ts";
import { type DownloadView, type LiveDownload, readDownloads } from "./downloads.ts";
import type { EventLog, MinuteBucket, TransferRecord } from "./event_log.ts";
import { formatHostPort } from "./format.ts";
import { SHARED_COUNTER_PREFIX, type SharedEvents } from "./shared_events.ts";

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
  /**
   * The events shared by every tracker on the store: `/metrics` then shows their summed counters
   * (the pages read `events`, which it keeps fed with every tracker's transfers).
   */
  shared?: SharedEvents;
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
  /** Peers whose session is live and who heartbeat in time, and users downloading now. */
  peersOnline: number;
  /** Peers that ever announced, and users downloading now. */
  peersTotal: number;
  /** Downloads in progress now (transfers live). */
  downloading: number;
  /** Of those, the stalled ones. */
  stalled: number;
  /** File versions (name and content) anyone announced. */
  files: number;
  /** File versions with at least one online source. */
  filesOnline: number;
  /** Bytes of the file versions with an online source, each version counted once. */
  bytesShared: number;
  /** Transfers reported as working in the last hour (the chart's window, {@link perMinute}). */
  transfersLastHour: number;
  /** Transfers reported as failed in the same window. */
  failuresLastHour: number;
  /** Bytes reported transferred in the same window. */
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
  /** Its downloads in progress. */
  downloading: number;
  /** Of those, the stalled ones. */
  stalled: number;
  /** Whether it announced (serves a share); false for a `get` known only by its downloads. */
  announced: boolean;
}

/** A peer's page (`/api/peers/{name}`). */
export interface PeerDetailView {
  /** The peer, with its counts. */
  peer: PeerView;
  /** The file versions it holds whole, by name. */
  shares: FileView[];
  /** Its downloads in progress, by name. */
  downloads: DownloadView[];
  /** Transfers it served or downloaded since the tracker started, newest first (at most 100). */
  transfers: TransferRecord[];
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
  /** Sources online now (see `counts.ts`). */
  sourcesOnline: number;
  /** Holders of the whole file, online or not. */
  holders: number;
  /** Downloads in progress. */
  downloading: number;
  /** Of those, the stalled ones. */
  stalled: number;
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
  /** A download in progress that said no online peer has the chunks it still needs, or hangs. */
  stalled?: boolean;
  /** Why it is marked stalled. */
  stalledWhy?: "no source" | "no progress";
  /** A download's rate in bytes per second, when known. */
  bytesPerSecond?: number | null;
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
  /** Sources online now (`counts.sourcesOnline`). */
  sourcesOnline: number;
  /** Its counts, as every page shows them. */
  counts: SwarmCounts;
  /**
   * For each chunk, how many online sources hold it: every complete holder, plus each download in
   * progress that has verified it (from the have-map it sends with its progress).
   */
  chunkMap: number[];
  /** Every holder, then every download in progress. */
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

/** What every view reads at one moment. */
interface Snapshot {
  index: HolderIndex;
  online: (user: string) => boolean;
  now: number;
  /** Partial holders (downloads in progress and finished ones that seed). */
  downloads: LiveDownload[];
  /** The same, by version id. */
  byVersion: Map<string, LiveDownload[]>;
  /** Every user known (announced, or a partial holder), and whether it counts as online. */
  peersOnline: Map<string, boolean>;
}

async function snapshot(source: DashboardSource): Promise<Snapshot> {
  const index = await readIndex(source);
  const now = source.events.now();
  const at = { now, heartbeatMs: source.heartbeatMs };
  const online = (user: string) => {
    const peer = index.peer(user);
    return peer !== undefined && isOnline(peer, at);
  };
  const downloads = readDownloads(source, index, now);
  const byVersion = new Map<string, LiveDownload[]>();
  for (const d of downloads) {
    const list = byVersion.get(d.view.id);
    if (list) list.push(d);
    else byVersion.set(d.view.id, [d]);
  }
  const announced = new Map([...index.peers.keys()].map((user) => [user, online(user)]));
  const known = peersOnline(announced, downloads.map((d) => d.view.user));
  return { index, online, now, downloads, byVersion, peersOnline: known };
}

/**
 * A version's counts at a snapshot, "sources online" among them: every page and the JSON API take
 * a version's counts from here (by the rules of `countSwarm`).
 */
function versionCounts(version: IndexedVersion, snap: Snapshot): SwarmCounts {
  const downloads = (snap.byVersion.get(version.id) ?? []).map((d) => d.view);
  return countSwarm(version.holders.keys(), snap.online, downloads);
}

function summarize(version: IndexedVersion, snap: Snapshot): FileView {
  const { name, size, sha256, id } = version;
  return { name, size, sha256, id, ...versionCounts(version, snap) };
}

/** Every download in progress (`/api/downloads`), by file name then user. */
export async function readDownloadViews(source: DashboardSource): Promise<DownloadView[]> {
  const snap = await snapshot(source);
  return snap.downloads.map((d) => d.view).filter(inProgress);
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
  const snap = await snapshot(source);
  const { index, now } = snap;
  const files = index.versions.map((v) => summarize(v, snap));
  const perMinute = source.events.perMinute(60);
  const window = countWindow(perMinute);
  const live = snap.downloads.map((d) => d.view).filter(inProgress);
  const peers = countPeers(snap.peersOnline);
  const busy = new Map<string, { name: string; transfers: number; bytes: number }>();
  for (const t of source.events.transfers()) {
    if (!t.ok) continue;
    const entry = busy.get(t.name) ?? { name: t.name, transfers: 0, bytes: 0 };
    entry.transfers++;
    entry.bytes += t.bytes;
    busy.set(t.name, entry);
  }
  return {
    peersOnline: peers.online,
    peersTotal: peers.total,
    downloading: live.length,
    stalled: live.filter((d) => d.stalled).length,
    files: files.length,
    filesOnline: files.filter((f) => f.sourcesOnline > 0).length,
    bytesShared: files.reduce((sum, f) => sum + (f.sourcesOnline > 0 ? f.size : 0), 0),
    transfersLastHour: window.ok,
    failuresLastHour: window.failed,
    bytesLastHour: window.bytes,
    busiestFiles: [...busy.values()]
      .sort((a, b) => b.transfers - a.transfers || b.bytes - a.bytes || cmp(a.name, b.name))
      .slice(0, 5),
    perMinute,
    startedAt: source.events.startedAt,
    trackers: await readTrackers(source),
    now,
  };
}

/**
 * The trackers alive (flushing their counters; see `TRACKER_SILENT_MS`) with the request counts
 * they wrote to the store, by name: a stopped one leaves the list and the cluster's sums.
 */
export async function readTrackers(source: DashboardSource): Promise<TrackerView[]> {
  const [counters, live] = await Promise.all([
    source.store.readCounters(),
    source.store.liveTrackers(),
  ]);
  return [...live].map((id) => [id, counters.get(id) ?? new Map<string, number>()] as const)
    .map(([id, counts]) => {
      let requests = 0;
      let errors = 0;
      for (const [key, n] of counts) {
        if (key.startsWith(SHARED_COUNTER_PREFIX)) continue; // shared event counters
        requests += n;
        if (!key.endsWith(":ok")) errors += n;
      }
      return { id, requests, errors, self: id === source.trackerId };
    }).sort((a, b) => cmp(a.id, b.id));
}

/**
 * The peers views of a snapshot: every peer that announced, and every partial holder (a user
 * downloading now, or seeding what it downloaded).
 */
async function peerViews(source: DashboardSource, snap: Snapshot): Promise<PeerView[]> {
  const { index } = snap;
  const partial = snap.downloads.map((d) => d.view);
  const users = [...snap.peersOnline.keys()];
  const allStats = source.index
    ? new Map(users.map((user) => [user, index.stats(user)]))
    : await source.store.getStatsMany(users);
  const views = users.map((user): PeerView => {
    const peer = index.peer(user);
    const stats = allStats.get(user) ?? { downloads: 0, failures: 0 };
    const shares = index.sharesOf(user);
    const present = partial.filter((d) => d.user === user);
    const mine = present.filter(inProgress);
    return {
      user,
      address: peer ? formatHostPort(peer.host, peer.port) : present[0]?.address ?? "",
      online: snap.peersOnline.get(user) ?? false,
      lastSeen: Math.max(peer?.lastSeen ?? 0, ...present.map((d) => d.updatedAt)),
      downloads: stats.downloads,
      failures: stats.failures,
      filesShared: shares.length,
      bytesShared: shares.reduce((sum, row) => sum + row.size, 0),
      downloading: mine.length,
      stalled: mine.filter((d) => d.stalled).length,
      announced: peer !== undefined,
    };
  });
  return views.sort((a, b) => cmp(a.user, b.user));
}

/** Every peer that ever announced, and every user downloading now, by user name. */
export async function readPeers(source: DashboardSource): Promise<PeerView[]> {
  return await peerViews(source, await snapshot(source));
}

/** A peer's shares, downloads and transfers, or null when it never announced nor downloads now. */
export async function readPeer(
  source: DashboardSource,
  user: string,
): Promise<PeerDetailView | null> {
  const snap = await snapshot(source);
  const peer = (await peerViews(source, snap)).find((p) => p.user === user);
  if (!peer) return null;
  const held = new Set(snap.index.sharesOf(user).map((row) => row.id));
  const shares = snap.index.versions.filter((v) => held.has(v.id))
    .map((v) => summarize(v, snap));
  const downloads = snap.downloads.map((d) => d.view)
    .filter((d) => d.user === user && inProgress(d));
  const transfers: TransferRecord[] = [];
  for (const t of source.events.transfers()) {
    if (t.user !== user && t.source !== user) continue;
    transfers.push(t);
    if (transfers.length >= 100) break;
  }
  return { peer, shares, downloads, transfers };
}

/**
 * Every file version whose name contains `search` (any case), by name, the version with the most
 * online sources first.
 */
export async function readFiles(source: DashboardSource, search = ""): Promise<FileView[]> {
  const snap = await snapshot(source);
  const needle = search.toLowerCase();
  // The index keeps versions in (name, id) order already.
  return snap.index.versions.filter((v) => v.lowerName.includes(needle))
    .map((v) => summarize(v, snap));
}

/** A file's versions, holders and chunk maps, or null when nobody shares that name. */
export async function readFile(
  source: DashboardSource,
  name: string,
): Promise<FileDetailView | null> {
  const snap = await snapshot(source);
  const { index } = snap;
  const held = index.versionsOf(name);
  if (held.length === 0) return null;
  const peers = index.peers;
  const versions: VersionView[] = [];
  for (const version of held) {
    const id = version.id;
    const rows = [...version.holders.values()];
    const hashes = await source.store.getChunkHashes(id);
    const chunks = hashes?.length ?? Math.max(1, Math.ceil(version.size / version.chunkSize));
    const statsOf = async (user: string) =>
      source.index ? index.stats(user) : await source.store.getStats(user);
    const holderViews = await Promise.all(rows.map(async (h): Promise<HolderView> => {
      const peer = peers.get(h.user);
      const stats = await statsOf(h.user);
      return {
        user: h.user,
        address: peer ? formatHostPort(peer.host, peer.port) : "",
        online: snap.online(h.user),
        lastSeen: peer?.lastSeen ?? 0,
        complete: true,
        progress: 1,
        downloads: stats.downloads,
        failures: stats.failures,
      };
    }));
    holderViews.sort((a, b) => Number(b.online) - Number(a.online) || cmp(a.user, b.user));
    const live = snap.byVersion.get(id) ?? [];
    const counts = versionCounts(version, snap);
    const chunkMap = new Array<number>(chunks).fill(holderViews.filter((h) => h.online).length);
    // Downloads: listed after the holders, counted where their have-maps say.
    for (const { view: d, have: sent } of live) {
      const stats = await statsOf(d.user);
      holderViews.push({
        user: d.user,
        address: d.address,
        online: true,
        lastSeen: d.updatedAt,
        complete: d.progress >= 1,
        progress: d.progress,
        ...(d.stalled ? { stalled: true } : {}),
        ...(d.stalledWhy ? { stalledWhy: d.stalledWhy } : {}),
        bytesPerSecond: d.bytesPerSecond,
        downloads: stats.downloads,
        failures: stats.failures,
      });
      let have: Uint8Array | undefined;
      try {
        have = sent === undefined ? undefined : decodeHaveMap(sent, chunks);
      } catch {
        have = undefined; // a map that does not fit this version counts for nothing
      }
      if (have) { for (let i = 0; i < chunks; i++) chunkMap[i]! += have[i]!; }
      else if (d.progress >= 1) { for (let i = 0; i < chunks; i++) chunkMap[i]!++; }
    }
    versions.push({
      id,
      sha256: version.sha256,
      size: version.size,
      chunkSize: version.chunkSize,
      chunks,
      sourcesOnline: counts.sourcesOnline,
      counts,
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
