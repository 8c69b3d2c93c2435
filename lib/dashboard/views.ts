/**
 * The dashboard's read model: what the pages and the JSON API show, computed from the tracker's
 * store and the {@link EventLog}. Nothing here writes, and nothing secret (password hashes, session
 * hashes, tokens) ever leaves: every view is built field by field.
 *
 * @module
 */
import { decodeHaveMap } from "../protocol/mod.ts";
import {
  type HolderRow,
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

function versionKey(row: { name: string; id: string }): string {
  return `${row.name}\u0000${row.id}`;
}

async function snapshot(
  source: DashboardSource,
  name?: string,
): Promise<{ holders: HolderRow[]; peers: Map<string, PeerRecord>; now: number }> {
  const [holders, peers] = await Promise.all([
    source.store.listHolders(name),
    source.store.listPeers(),
  ]);
  return { holders, peers, now: source.events.now() };
}

function summarize(
  holders: HolderRow[],
  online: (user: string) => boolean,
): FileView[] {
  const byVersion = new Map<string, FileView>();
  for (const h of holders) {
    const key = versionKey(h);
    const view = byVersion.get(key) ??
      { name: h.name, size: h.size, sha256: h.sha256, id: h.id, sourcesOnline: 0, holders: 0 };
    view.holders++;
    if (online(h.user)) view.sourcesOnline++;
    byVersion.set(key, view);
  }
  return [...byVersion.values()];
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
  const { holders, peers, now } = await snapshot(source);
  const online = (user: string) => {
    const peer = peers.get(user);
    return peer !== undefined && isOnline(peer, source.heartbeatMs, now);
  };
  const files = summarize(holders, online);
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
    now,
  };
}

/** Every peer that ever announced, by user name. */
export async function readPeers(source: DashboardSource): Promise<PeerView[]> {
  const { holders, peers, now } = await snapshot(source);
  const shared = new Map<string, { files: number; bytes: number }>();
  for (const h of holders) {
    const entry = shared.get(h.user) ?? { files: 0, bytes: 0 };
    entry.files++;
    entry.bytes += h.size;
    shared.set(h.user, entry);
  }
  const views = await Promise.all([...peers].map(async ([user, peer]): Promise<PeerView> => {
    const stats = await source.store.getStats(user);
    return {
      user,
      address: formatHostPort(peer.host, peer.port),
      online: isOnline(peer, source.heartbeatMs, now),
      lastSeen: peer.lastSeen,
      downloads: stats.downloads,
      failures: stats.failures,
      filesShared: shared.get(user)?.files ?? 0,
      bytesShared: shared.get(user)?.bytes ?? 0,
    };
  }));
  return views.sort((a, b) => cmp(a.user, b.user));
}

/**
 * Every file version whose name contains `search` (any case), by name, the version with the most
 * online sources first.
 */
export async function readFiles(source: DashboardSource, search = ""): Promise<FileView[]> {
  const { holders, peers, now } = await snapshot(source);
  const needle = search.toLowerCase();
  const online = (user: string) => {
    const peer = peers.get(user);
    return peer !== undefined && isOnline(peer, source.heartbeatMs, now);
  };
  return summarize(holders.filter((h) => h.name.toLowerCase().includes(needle)), online)
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.id, b.id));
}

/** A file's versions, holders and chunk maps, or null when nobody shares that name. */
export async function readFile(
  source: DashboardSource,
  name: string,
): Promise<FileDetailView | null> {
  const { holders, peers, now } = await snapshot(source, name);
  const exact = holders.filter((h) => h.name === name);
  if (exact.length === 0) return null;
  const byVersion = new Map<string, HolderRow[]>();
  for (const h of exact) byVersion.set(h.id, [...byVersion.get(h.id) ?? [], h]);
  const versions: VersionView[] = [];
  for (const [id, rows] of byVersion) {
    const first = rows[0]!;
    const hashes = await source.store.getChunkHashes(id);
    const chunks = hashes?.length ?? Math.max(1, Math.ceil(first.size / first.chunkSize));
    const holderViews = await Promise.all(rows.map(async (h): Promise<HolderView> => {
      const peer = peers.get(h.user);
      const stats = await source.store.getStats(h.user);
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
