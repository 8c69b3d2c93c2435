/**
 * The dashboard's pages, each a short list of components (`components.ts`) and tables
 * (`tables.ts`) over the views. A page has a static part (the search box) and a live part that the
 * page's script re-fetches on every change notice; `layout.ts` puts them in the document.
 *
 * @module
 */
import { transfersChart } from "./chart.ts";
import { chunkMapFigure } from "./chunk_map.ts";
import { card, emptyState, facts, peerStatus, section, timeAgo } from "./components.ts";
import { countPeers } from "./counts.ts";
import type { DownloadView } from "./downloads.ts";
import type { TransferRecord } from "./event_log.ts";
import { formatBytes, formatCount } from "./format.ts";
import { element, html } from "./html.ts";
import type { Page } from "./layout.ts";
import {
  busiestTable,
  downloadsTable,
  filesTable,
  type PeerSort,
  peersTable,
  sharesTable,
  swarmTable,
  trackersSection,
  transfersTable,
} from "./tables.ts";
import type { FileDetailView, FileView, PeerDetailView, PeerView, Stats } from "./views.ts";

const NO_DOWNLOAD = "No download in progress.";

/**
 * The overview: headline numbers, downloads in progress, transfers per minute, the trackers (when
 * several share the store), busiest files, latest transfers.
 */
export function overviewPage(
  stats: Stats,
  recent: readonly TransferRecord[],
  downloads: readonly DownloadView[] = [],
): Page {
  const stat = (name: string, value: number) => html`<span data-stat="${name}">${value}</span>`;
  const cards = [
    {
      stat: "peersOnline",
      value: stats.peersOnline,
      label: "peers online",
      note: html`of ${stat("peersTotal", stats.peersTotal)} known`,
    },
    {
      stat: "files",
      value: stats.files,
      label: "files",
      note: html`${stat("filesOnline", stats.filesOnline)} with a source online`,
    },
    {
      stat: "bytesShared",
      value: formatBytes(stats.bytesShared),
      label: "shared online",
      note: html`${stat("bytesSharedExact", stats.bytesShared)} bytes`,
    },
    {
      stat: "downloading",
      value: stats.downloading,
      label: "downloads in progress",
      note: html`${stat("stalled", stats.stalled)} stalled`,
    },
    {
      stat: "transfersLastHour",
      value: stats.transfersLastHour,
      label: "transfers, last hour",
      note: formatBytes(stats.bytesLastHour),
    },
    { stat: "failuresLastHour", value: stats.failuresLastHour, label: "failures, last hour" },
  ].map(card);
  const latest = transfersTable(recent, { now: stats.now, empty: "No transfers yet." });
  return {
    section: "overview",
    title: "Overview",
    live: html`
      <section class="cards">${cards}</section>
      ${section("Downloads in progress", downloadsTable(downloads, NO_DOWNLOAD))}
      ${section("Transfers per minute", transfersChart(stats.perMinute))}
      ${trackersSection(stats.trackers)}
      <div class="columns">
        ${section("Busiest files", busiestTable(stats.busiestFiles))}
        ${section(
          "Latest transfers",
          latest,
          html`<p><a href="/transfers">All transfers and failures →</a></p>`,
        )}
      </div>
    `,
  };
}

/** The peers table, sorted by `sort` (a key of `PEER_SORTS`) in `dir` order. */
export function peersPage(
  peers: readonly PeerView[],
  now: number,
  sort: string,
  dir: PeerSort["dir"],
): Page {
  const count = countPeers(new Map(peers.map((p) => [p.user, p.online])));
  const online = element("span", { "data-stat": "peersOnline" }, count.online);
  const total = element("span", { "data-stat": "peersTotal" }, count.total);
  return {
    section: "peers",
    title: "Peers",
    live: html`
      <p class="summary">${online} online of ${total}</p>
      ${peersTable(peers, { now, sort: { by: sort, dir } })}
    `,
  };
}

/** The files table with its search box, a page of it at a time. */
export function filesPage(
  files: readonly FileView[],
  search: string,
  paging: { total?: number; next?: string } = {},
): Page {
  const total = paging.total ?? files.length;
  const plural = total === 1 ? "" : "s";
  const matching = search ? ` matching “${search}”` : "";
  const next = paging.next && element("a", { rel: "next", href: paging.next }, "Next page →");
  const more = next && files.length > 0
    ? html`<p class="more">Showing ${files.length} of ${total}. ${next}</p>`
    : "";
  return {
    section: "files",
    title: "Files",
    fixed: html`
      <form class="search" action="/files" method="get" role="search">
        <input id="search" type="search" name="search" value="${search}"
          placeholder="Search file names…" autocomplete="off" aria-label="Search file names">
        <button type="submit">Search</button>
      </form>
    `,
    live: html`
      <p class="summary"><span data-stat="files">${total}</span> file${plural}${matching}</p>
      ${filesTable(files, search ? "No file matches." : "No file is shared yet.")}
      ${more}
    `,
  };
}

/** A file's page: each version with its counts, chunk map and swarm, then its transfers. */
export function filePage(file: FileDetailView, now: number): Page {
  const versions = file.versions.map((v, i) => {
    const heading = file.versions.length > 1 ? `Version ${i + 1}` : "Content";
    const about = facts([
      { label: "SHA-256", value: html`<code>${v.sha256}</code>` },
      { label: "Size", value: `${formatBytes(v.size)} (${v.size} bytes)` },
      { label: "Chunks", value: `${v.chunks} × ${formatBytes(v.chunkSize)}` },
      { label: "Sources online", value: v.counts.sourcesOnline, stat: "sourcesOnline" },
      { label: "Holders", value: v.counts.holders, stat: "holders" },
      { label: "Downloading", value: v.counts.downloading, stat: "downloading" },
      { label: "Stalled", value: v.counts.stalled, stat: "stalled" },
    ]);
    return html`
      <section class="version" data-sha256="${v.sha256}">
        <h2>${heading}</h2>
        ${about}
        ${chunkMapFigure(v.chunkMap)}
        <h3>Swarm</h3>
        ${swarmTable(v.holders, now)}
      </section>
    `;
  });
  const transfers = transfersTable(file.transfers, {
    now,
    empty: "No transfers of this file yet.",
  });
  return {
    section: "files",
    title: file.name,
    live: html`${versions}${section("Transfers", transfers)}`,
  };
}

/** A peer's page: its counts, what it shares, what it downloads, its transfers. */
export function peerPage(detail: PeerDetailView, now: number): Page {
  const p = detail.peer;
  const about = facts([
    { label: "Status", value: peerStatus(p) },
    { label: "Address", value: html`<code>${p.address || "—"}</code>` },
    { label: "Last seen", value: timeAgo(p.lastSeen, now) },
    {
      label: "Files shared",
      value: `${p.filesShared} (${formatBytes(p.bytesShared)})`,
      stat: "filesShared",
    },
    { label: "Downloading", value: p.downloading, stat: "downloading" },
    { label: "Stalled", value: p.stalled, stat: "stalled" },
    {
      label: "Served",
      value: `${formatCount(p.downloads)} downloads, ${formatCount(p.failures)} failures`,
      stat: "downloads",
    },
  ], "peer");
  const transfers = transfersTable(detail.transfers, {
    now,
    empty: "No transfer from or to this peer since the tracker started.",
  });
  return {
    section: "peers",
    title: p.user,
    live: html`
      ${about}
      ${section("Downloading", downloadsTable(detail.downloads, NO_DOWNLOAD))}
      ${section("Shares", sharesTable(detail.shares))}
      ${section("Transfers", transfers)}
    `,
  };
}

/** Downloads in progress, then recent transfers and failures, with reasons and a chart. */
export function transfersPage(
  stats: Stats,
  transfers: readonly TransferRecord[],
  failuresByReason: ReadonlyMap<string, number>,
  downloads: readonly DownloadView[] = [],
): Page {
  const reasons = [...failuresByReason].sort((a, b) => b[1] - a[1]);
  const failures = reasons.length === 0
    ? emptyState("No failure reported since the tracker started.")
    : html`<ul class="reasons">${
      reasons.map(([reason, n]) => html`<li><b>${reason}</b>: ${n}</li>`)
    }</ul>`;
  const latest = transfersTable(transfers, {
    now: stats.now,
    empty: "No transfers since the tracker started.",
  });
  return {
    section: "transfers",
    title: "Transfers",
    live: html`
      ${section("In progress", downloadsTable(downloads, NO_DOWNLOAD))}
      ${section("Per minute, last hour", transfersChart(stats.perMinute))}
      ${section("Failures by reason", failures)}
      ${section(`Latest ${transfers.length} transfers`, latest)}
    `,
  };
}

/** A page for a peer the tracker does not know. */
export function missingPeerPage(user: string): Page {
  return {
    section: "peers",
    title: user,
    live: emptyState(
      html`No peer named <code>${user}</code> announced or downloads now. <a href="/peers">All peers</a>`,
    ),
  };
}

/** A page for a file nobody shares. */
export function missingFilePage(name: string): Page {
  return {
    section: "files",
    title: name,
    live: emptyState(
      html`Nobody shares a file named <code>${name}</code> (any more). <a href="/files">All files</a>`,
    ),
  };
}

/** A page for an unknown address. */
export function notFoundPage(path: string): Page {
  return {
    section: "",
    title: "Not found",
    live: emptyState(html`There is no page at <code>${path}</code>. <a href="/">Overview</a>`),
  };
}
