/**
 * The dashboard's tables, each a list of columns for the {@link table} component: downloads in
 * progress, transfers, busiest files, trackers, peers (sortable), files, a peer's shares and a
 * version's swarm. Pages place them; several pages share one.
 *
 * @module
 */
import {
  downloadState,
  fileLink,
  onlinePill,
  peerLink,
  peerStatus,
  pill,
  progressBar,
  section,
  shortHash,
  stalledPill,
  timeAgo,
} from "./components.ts";
import type { DownloadView } from "./downloads.ts";
import type { TransferRecord } from "./event_log.ts";
import { formatBytes, formatCount, formatRate } from "./format.ts";
import { element, type Html, html } from "./html.ts";
import { type Column, table } from "./table.ts";
import type { FileView, HolderView, PeerView, Stats } from "./views.ts";

/**
 * Downloads in progress: the file, source → downloader (the sources once the downloader reports
 * them), progress, rate and state; `empty` when there is none.
 */
export function downloadsTable(downloads: readonly DownloadView[], empty: string): Html {
  const unknown = html`
    <span class="muted"
      title="Sources are known once the downloader reports them">swarm</span>
  `;
  const route = (d: DownloadView) =>
    html`${
      d.sources.length === 0
        ? unknown
        : d.sources.map((u, i) => html`${i > 0 ? ", " : ""}${peerLink(u)}`)
    } → ${peerLink(d.user)}`;
  return table(downloads, [
    { label: "File", cell: (d) => fileLink(d.name) },
    { label: "From → to", cell: route },
    { label: "Progress", cell: (d) => progressBar(d.progress) },
    { label: "Rate", numeric: true, key: "rate", cell: (d) => formatRate(d.bytesPerSecond) },
    { label: "State", cell: downloadState },
  ], {
    className: "downloads",
    row: (d) => ({ "data-download": d.user, "data-name": d.name, "data-stalled": d.stalled && 1 }),
    empty,
  });
}

/** Reported transfers, newest first: when (seen from `now`), file, from, to, result and bytes. */
export function transfersTable(
  transfers: readonly TransferRecord[],
  options: { now: number; empty: string },
): Html {
  const { now, empty } = options;
  const result = (t: TransferRecord) =>
    t.ok ? pill("on", "ok") : pill("bad", `failed: ${t.reason ?? "unknown"}`);
  return table(transfers, [
    { label: "When", cell: (t) => timeAgo(t.at, now) },
    { label: "File", cell: (t) => fileLink(t.name) },
    { label: "From", cell: (t) => peerLink(t.source) },
    { label: "To", cell: (t) => t.user === null ? "?" : peerLink(t.user) },
    { label: "Result", cell: result },
    { label: "Bytes", numeric: true, cell: (t) => formatBytes(t.bytes) },
  ], { className: "transfers", row: (t) => ({ class: t.ok ? "ok" : "failed" }), empty });
}

/** The files with the most transfers, with their bytes. */
export function busiestTable(busiest: Stats["busiestFiles"]): Html {
  return table(busiest, [
    { label: "File", cell: (f) => fileLink(f.name) },
    { label: "Transfers", numeric: true, cell: (f) => f.transfers },
    { label: "Bytes", numeric: true, cell: (f) => formatBytes(f.bytes) },
  ], { className: "busiest", empty: "No transfers yet." });
}

/**
 * The trackers sharing the store with their request counts and a `cluster` row of the sums, in a
 * section of its own; nothing when this tracker is alone.
 */
export function trackersSection(trackers: Stats["trackers"]): Html {
  if (trackers.length < 2) return html``;
  const sum = (key: "requests" | "errors") => trackers.reduce((total, t) => total + t[key], 0);
  const rows = [
    ...trackers.map((t) => ({ ...t, id: t.self ? `${t.id} (this one)` : t.id })),
    { id: "cluster", requests: sum("requests"), errors: sum("errors") },
  ];
  return section(
    "Trackers",
    table(rows, [
      { label: "Tracker", cell: (t) => t.id },
      { label: "Requests", numeric: true, cell: (t) => t.requests },
      { label: "Refused", numeric: true, cell: (t) => t.errors },
    ], { className: "trackers" }),
  );
}

/** Columns the peers table sorts by, and how. */
export const PEER_SORTS: Record<string, (a: PeerView, b: PeerView) => number> = {
  user: (a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0),
  address: (a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
  online: (a, b) => Number(a.online) - Number(b.online),
  lastSeen: (a, b) => a.lastSeen - b.lastSeen,
  downloads: (a, b) => a.downloads - b.downloads,
  failures: (a, b) => a.failures - b.failures,
  files: (a, b) => a.filesShared - b.filesShared,
  downloading: (a, b) => a.downloading - b.downloading,
  bytes: (a, b) => a.bytesShared - b.bytesShared,
};

/** How the peers table is sorted: a key of {@link PEER_SORTS} and a direction. */
export interface PeerSort {
  /** The column (a key of {@link PEER_SORTS}; an unknown one sorts by user). */
  by: string;
  /** The direction. */
  dir: "asc" | "desc";
}

/** A header cell that sorts the peers table by `key`: ascending first, then the other way. */
function sortHead(sort: PeerSort, key: string, label: string, numeric = false): Html {
  const active = key === sort.by;
  const next = active && sort.dir === "asc" ? "desc" : "asc";
  const order = active && (sort.dir === "asc" ? "ascending" : "descending");
  const arrow = active ? (sort.dir === "asc" ? " ▲" : " ▼") : "";
  const link = element("a", { href: `?sort=${key}&dir=${next}`, "data-sort": key }, label, arrow);
  return element("th", { class: numeric ? "n" : "", "aria-sort": order }, link);
}

/** Every peer with its status and counts, sorted as `sort` says (then by user). */
export function peersTable(
  peers: readonly PeerView[],
  options: { now: number; sort: PeerSort },
): Html {
  const { now, sort } = options;
  const compare = PEER_SORTS[sort.by] ?? PEER_SORTS.user!;
  const sorted = [...peers].sort((a, b) =>
    (sort.dir === "asc" ? compare(a, b) : compare(b, a)) || PEER_SORTS.user!(a, b)
  );
  const head = (key: string, label: string, numeric = false) => ({
    label,
    numeric,
    head: sortHead(sort, key, label, numeric),
  });
  const columns: Column<PeerView>[] = [
    { ...head("user", "User"), cell: (p) => peerLink(p.user) },
    { ...head("address", "Address"), cell: (p) => html`<code>${p.address}</code>` },
    { ...head("online", "Status"), cell: peerStatus },
    { ...head("lastSeen", "Last seen"), cell: (p) => timeAgo(p.lastSeen, now) },
    {
      ...head("downloads", "Downloads", true),
      key: "downloads",
      cell: (p) => formatCount(p.downloads),
    },
    {
      ...head("failures", "Failures", true),
      key: "failures",
      cell: (p) => formatCount(p.failures),
    },
    { ...head("files", "Files", true), key: "files", cell: (p) => p.filesShared },
    { ...head("bytes", "Shared", true), cell: (p) => formatBytes(p.bytesShared) },
    {
      ...head("downloading", "Downloading", true),
      key: "downloading",
      cell: (p) => html`${p.downloading}${stalledPill(p.stalled)}`,
    },
  ];
  return table(sorted, columns, {
    className: "peers",
    row: (p) => ({ "data-user": p.user }),
    empty: "No peer has announced yet.",
  });
}

/** File versions with their size, sources online, holders, downloads and hash. */
export function filesTable(files: readonly FileView[], empty: string): Html {
  return table(files, [
    { label: "Name", cell: (f) => fileLink(f.name) },
    { label: "Size", numeric: true, cell: (f) => formatBytes(f.size) },
    { label: "Sources online", numeric: true, key: "sources", cell: (f) => f.sourcesOnline },
    { label: "Holders", numeric: true, key: "holders", cell: (f) => f.holders },
    {
      label: "Downloading",
      numeric: true,
      key: "downloading",
      cell: (f) => html`${f.downloading}${stalledPill(f.stalled)}`,
    },
    { label: "SHA-256", cell: (f) => shortHash(f.sha256) },
  ], { className: "files", row: (f) => ({ "data-name": f.name }), empty });
}

/** The file versions a peer holds whole, with their counts. */
export function sharesTable(shares: readonly FileView[]): Html {
  return table(shares, [
    { label: "Name", cell: (f) => fileLink(f.name) },
    { label: "Size", numeric: true, cell: (f) => formatBytes(f.size) },
    { label: "Sources online", numeric: true, cell: (f) => f.sourcesOnline },
    { label: "Holders", numeric: true, cell: (f) => f.holders },
    { label: "Downloading", numeric: true, cell: (f) => f.downloading },
  ], { className: "files", row: (f) => ({ "data-name": f.name }), empty: "It shares no file." });
}

/**
 * A version's swarm: its holders of the whole file (online or not), then its downloads in progress
 * with their share, state and rate.
 */
export function swarmTable(holders: readonly HolderView[], now: number): Html {
  return table(holders, [
    { label: "User", cell: (h) => peerLink(h.user) },
    { label: "Address", cell: (h) => html`<code>${h.address}</code>` },
    { label: "Status", cell: (h) => h.complete ? onlinePill(h.online) : downloadState(h) },
    { label: "Progress", cell: (h) => h.complete ? "whole" : progressBar(h.progress) },
    {
      label: "Rate",
      numeric: true,
      key: "rate",
      cell: (h) => h.complete ? "" : formatRate(h.bytesPerSecond ?? null),
    },
    { label: "Last seen", cell: (h) => timeAgo(h.lastSeen, now) },
    { label: "Downloads", numeric: true, cell: (h) => formatCount(h.downloads) },
    { label: "Failures", numeric: true, cell: (h) => formatCount(h.failures) },
  ], {
    className: "holders",
    row: (h) => ({
      "data-user": h.user,
      "data-progress": !h.complete && h.progress,
      "data-stalled": h.stalled && 1,
    }),
  });
}
