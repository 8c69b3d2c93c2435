/**
 * The dashboard's pages, rendered on the server from the views. Each page has a static part (the
 * search box) and a live part that the page's script re-fetches on every change notice; with
 * `fragment` only the live part is rendered.
 *
 * @module
 */
import { chunkMap, chunkMapLegend, transfersChart } from "./chart.ts";
import type { DownloadView } from "./downloads.ts";
import type { TransferRecord } from "./event_log.ts";
import { formatAgo, formatBytes, formatCount, formatRate } from "./format.ts";
import { type Html, html } from "./html.ts";
import type {
  FileDetailView,
  FileView,
  HolderView,
  PeerDetailView,
  PeerView,
  Stats,
} from "./views.ts";

/** A rendered page: its title, the part that stays and the part that updates. */
export interface Page {
  /** Names the nav entry to highlight (`overview`, `peers`, `files`, `transfers`). */
  section: string;
  /** The `<title>` and heading. */
  title: string;
  /** Rendered once, above the live part (the search box). */
  fixed?: Html;
  /** Re-rendered on every change. */
  live: Html;
}

const NAV: [section: string, href: string, label: string][] = [
  ["overview", "/", "Overview"],
  ["peers", "/peers", "Peers"],
  ["files", "/files", "Files"],
  ["transfers", "/transfers", "Transfers"],
  ["admin", "/admin", "Admin"],
];

/** The full HTML document around a {@link Page}. */
export function renderDocument(page: Page): string {
  const nav = NAV.map(([section, href, label]) =>
    html`
      <a href="${href}" ${section === page.section
        ? html`
          aria-current="page"
        `
        : ""}>${label}</a>
    `
  );
  return "<!doctype html>\n" + html`
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${page.title} · p2pfs tracker</title>
        <link rel="stylesheet" href="/assets/app.css">
        <script src="/assets/app.js" defer></script>
      </head>
      <body data-section="${page.section}">
        <header>
          <a class="brand" href="/">p2pfs <span>tracker</span></a>
          <nav>${nav}</nav>
          <span id="live-status" class="live" data-state="connecting"
            title="Live updates">connecting</span>
        </header>
        <main>
    <h1 title="${page.title}">${page.title}</h1>
    ${page.fixed ?? ""}
    <div id="live">${page.live}</div>
        </main>
        <footer>Read-only JSON: <a href="/api/stats">/api/stats</a> · <a href="/api/peers">/api/peers</a> · <a href="/api/files">/api/files</a> · <a href="/api/downloads">/api/downloads</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></footer>
      </body>
    </html>
  `.value;
}

/** Link to a file's page; each segment of the name is URL-encoded. */
export function fileHref(name: string): string {
  return "/files/" + name.split("/").map(encodeURIComponent).join("/");
}

/** Link to a peer's page. */
export function peerHref(user: string): string {
  return "/peers/" + encodeURIComponent(user);
}

/**
 * A name that may be long: shown on one line, cut with an ellipsis where the column ends, the full
 * name on hover (never wrapped mid-word).
 */
function longName(name: string, href?: string): Html {
  return href
    ? html`<a class="trunc" href="${href}" title="${name}">${name}</a>`
    : html`<span class="trunc" title="${name}">${name}</span>`;
}

/** A link to a file's page, truncated. */
function fileLink(name: string): Html {
  return longName(name, fileHref(name));
}

/** A link to a peer's page, truncated. */
function peerLink(user: string): Html {
  return longName(user, peerHref(user));
}

/** A download's share as a bar and a percentage. */
function progressBar(progress: number): Html {
  const percent = Math.floor(progress * 1000) / 10;
  return html`
    <span class="progress"
      data-progress="${progress}"><progress max="1" value="${progress}"></progress> ${percent}%</span>
  `;
}

/** Where a download stands: stalled (and why), or downloading. */
function downloadState(d: { stalled?: boolean; stalledWhy?: string }): Html {
  return d.stalled
    ? html`<span class="pill bad" data-state="stalled" title="${
      d.stalledWhy === "no progress"
        ? "Its progress reports stopped moving"
        : "It said no online peer has the chunks it still needs"
    }">stalled: ${
      d.stalledWhy ??
        "no source"
    }</span>`
    : html`<span class="pill busy" data-state="downloading">downloading</span>`;
}

/** Downloads in progress: source → downloader (sources where known), progress, rate, state. */
function downloadsTable(
  downloads: readonly DownloadView[],
  empty: string,
): Html {
  if (downloads.length === 0) return html`<p class="empty">${empty}</p>`;
  const rows = downloads.map((d) =>
    html`
      <tr data-download="${d.user}" data-name="${d.name}" ${d.stalled
        ? html`
          data-stalled="1"
        `
        : ""}>
        <td>${fileLink(d.name)}</td>
        <td>${d.sources.length === 0
          ? html`<span class="muted" title="Sources are known once the downloader reports them">swarm</span>`
          : d.sources.map((u, i) => html`${i > 0 ? ", " : ""}${peerLink(u)}`)} → ${peerLink(
            d.user,
          )}</td>
        <td>${progressBar(d.progress)}</td>
        <td class="n" data-col="rate">${formatRate(d.bytesPerSecond)}</td>
        <td>${downloadState(d)}</td>
      </tr>
    `
  );
  return html`
    <table class="downloads">
      <thead>
        <tr>
          <th>File</th>
          <th>From → to</th>
          <th>Progress</th>
          <th
            class="n">Rate</th>
          <th>State</th>
        </tr>
      </thead>
      <tbody>${rows}</tbody>
    </table>
  `;
}

function ago(at: number, now: number): Html {
  if (at <= 0) return html`never`;
  return html`<time datetime="${new Date(at).toISOString()}" data-ago>${formatAgo(at, now)}</time>`;
}

function status(online: boolean): Html {
  return online
    ? html`<span class="pill on">online</span>`
    : html`<span class="pill off">offline</span>`;
}

function shortHash(sha256: string): Html {
  return html`<code title="${sha256}">${sha256.slice(0, 16)}…</code>`;
}

function card(stat: string, value: string, label: string, note?: Html | string): Html {
  return html`
    <div
      class="card"><div class="num" data-stat="${stat}">${value}</div><div class="label">${label}</div>${note
        ? html`<div class="note">${note}</div>`
        : ""}</div>
  `;
}

function transfersTable(transfers: readonly TransferRecord[], now: number, empty: string): Html {
  if (transfers.length === 0) return html`<p class="empty">${empty}</p>`;
  const rows = transfers.map((t) =>
    html`
      <tr class="${t.ok ? "ok" : "failed"}">
        <td>${ago(t.at, now)}</td>
        <td>${fileLink(t.name)}</td>
        <td>${peerLink(t.source)}</td>
        <td>${t.user === null ? "?" : peerLink(t.user)}</td>
        <td>${t.ok
          ? html`<span class="pill on">ok</span>`
          : html`<span class="pill bad">failed: ${t.reason ?? "unknown"}</span>`}</td>
        <td class="n">${formatBytes(t.bytes)}</td>
      </tr>
    `
  );
  return html`
    <table class="transfers">
      <thead>
        <tr>
          <th>When</th>
          <th>File</th>
          <th>From</th>
          <th>To</th>
          <th>Result</th>
          <th class="n">Bytes</th>
        </tr>
      </thead>
      <tbody>${rows}</tbody>
    </table>
  `;
}

/** The trackers sharing the store, when there is more than one. */
function trackersTable(stats: Stats) {
  if (stats.trackers.length < 2) return html``;
  const total = stats.trackers.reduce((sum, t) => sum + t.requests, 0);
  return html`
    <section>
      <h2>Trackers</h2>
      <table class="trackers">
        <thead>
          <tr>
            <th>Tracker</th>
            <th class="n">Requests</th>
            <th class="n">Refused</th>
          </tr>
        </thead>
        <tbody>${stats.trackers.map((t) =>
          html`
            <tr>
              <td>${t.id}${t.self ? " (this one)" : ""}</td>
              <td class="n">${t.requests}</td>
              <td class="n">${t.errors}</td>
            </tr>
          `
        )}<tr><td>cluster</td><td class="n">${total}</td><td class="n">${stats.trackers.reduce(
          (sum, t) => sum + t.errors,
          0,
        )}</td></tr></tbody>
      </table>
    </section>
  `;
}

/**
 * The overview: headline numbers, downloads in progress, transfers per minute, busiest files,
 * latest transfers.
 */
export function overviewPage(
  stats: Stats,
  recent: readonly TransferRecord[],
  downloads: readonly DownloadView[] = [],
): Page {
  const busiest = stats.busiestFiles.length === 0
    ? html`<p class="empty">No transfers yet.</p>`
    : html`
      <table class="busiest">
        <thead>
          <tr>
            <th>File</th>
            <th class="n">Transfers</th>
            <th class="n">Bytes</th>
          </tr>
        </thead>
        <tbody>${stats.busiestFiles.map((f) =>
          html`
            <tr>
              <td>${fileLink(f.name)}</td>
              <td class="n">${f.transfers}</td>
              <td class="n">${formatBytes(f.bytes)}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  return {
    section: "overview",
    title: "Overview",
    live: html`
      <section class="cards">
      ${card(
        "peersOnline",
        String(stats.peersOnline),
        "peers online",
        html`of <span data-stat="peersTotal">${stats.peersTotal}</span> known`,
      )}
      ${card(
        "files",
        String(stats.files),
        "files",
        html`<span data-stat="filesOnline">${stats.filesOnline}</span> with a source online`,
      )}
      ${card(
        "bytesShared",
        formatBytes(stats.bytesShared),
        "shared online",
        html`<span data-stat="bytesSharedExact">${stats.bytesShared}</span> bytes`,
      )}
      ${card(
        "downloading",
        String(stats.downloading),
        "downloads in progress",
        html`<span data-stat="stalled">${stats.stalled}</span> stalled`,
      )}
      ${card(
        "transfersLastHour",
        String(stats.transfersLastHour),
        "transfers, last hour",
        formatBytes(stats.bytesLastHour),
      )}
      ${card("failuresLastHour", String(stats.failuresLastHour), "failures, last hour")}
      </section>
      <section><h2>Downloads in progress</h2>${downloadsTable(
        downloads,
        "No download in progress.",
      )}</section>
      <section><h2>Transfers per minute</h2>${transfersChart(stats.perMinute)}</section>
      ${trackersTable(stats)}
      <div class="columns">
        <section><h2>Busiest files</h2>${busiest}</section>
        <section><h2>Latest transfers</h2>${transfersTable(
          recent,
          stats.now,
          "No transfers yet.",
        )}<p><a href="/transfers">All transfers and failures →</a></p></section>
      </div>
    `,
  };
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

/** The peers table, sorted by `sort` (a key of {@link PEER_SORTS}) in `dir` order. */
export function peersPage(
  peers: readonly PeerView[],
  now: number,
  sort: string,
  dir: "asc" | "desc",
): Page {
  const compare = PEER_SORTS[sort] ?? PEER_SORTS.user!;
  const sorted = [...peers].sort((a, b) =>
    (dir === "asc" ? compare(a, b) : compare(b, a)) || PEER_SORTS.user!(a, b)
  );
  const head = (key: string, label: string, numeric = false) => {
    const active = key === sort;
    const next = active && dir === "asc" ? "desc" : "asc";
    return html`
      <th class="${numeric ? "n" : ""}"
        ${active
          ? html`
            aria-sort="${dir === "asc" ? "ascending" : "descending"}"
          `
          : ""}><a href="?sort=${key}&amp;dir=${next}" data-sort="${key}">${label}${active
          ? (dir === "asc" ? " ▲" : " ▼")
          : ""}</a></th>
    `;
  };
  const online = peers.filter((p) => p.online).length; // the rule of `countPeers`
  const rows = sorted.map((p) =>
    html`
      <tr data-user="${p.user}">
        <td>${peerLink(p.user)}</td>
        <td><code>${p.address}</code></td>
        <td>${peerStatus(p)}</td>
        <td>${ago(p.lastSeen, now)}</td>
        <td class="n" data-col="downloads">${formatCount(p.downloads)}</td>
        <td class="n" data-col="failures">${formatCount(p.failures)}</td>
        <td class="n" data-col="files">${p.filesShared}</td>
        <td class="n">${formatBytes(p.bytesShared)}</td>
        <td class="n" data-col="downloading">${p.downloading}${p.stalled > 0
          ? html`
            <span class="pill bad" data-state="stalled">${p.stalled} stalled</span>
          `
          : ""}</td>
      </tr>
    `
  );
  return {
    section: "peers",
    title: "Peers",
    live: html`
      <p
        class="summary"><span data-stat="peersOnline">${online}</span> online of <span data-stat="peersTotal">${peers
          .length}</span></p>${peers.length === 0
          ? html`<p class="empty">No peer has announced yet.</p>`
          : html`
            <table class="peers">
              <thead>
                <tr>${head("user", "User")}${head("address", "Address")}${head(
                  "online",
                  "Status",
                )}${head("lastSeen", "Last seen")}${head("downloads", "Downloads", true)}${head(
                  "failures",
                  "Failures",
                  true,
                )}${head("files", "Files", true)}${head("bytes", "Shared", true)}${head(
                  "downloading",
                  "Downloading",
                  true,
                )}</tr>
              </thead>
              <tbody>${rows}</tbody>
            </table>
          `}
    `,
  };
}

/** The files table with its search box. */
export function filesPage(
  files: readonly FileView[],
  search: string,
  paging: { total?: number; next?: string } = {},
): Page {
  const total = paging.total ?? files.length;
  const rows = files.map((f) =>
    html`
      <tr data-name="${f.name}">
        <td>${fileLink(f.name)}</td>
        <td class="n">${formatBytes(f.size)}</td>
        <td class="n" data-col="sources">${f.sourcesOnline}</td>
        <td class="n" data-col="holders">${f.holders}</td>
        <td class="n" data-col="downloading">${f.downloading}${f.stalled > 0
          ? html`
            <span class="pill bad" data-state="stalled">${f.stalled} stalled</span>
          `
          : ""}</td>
        <td>${shortHash(f.sha256)}</td>
      </tr>
    `
  );
  return {
    section: "files",
    title: "Files",
    fixed: html`
      <form class="search" action="/files" method="get"
        role="search"><input id="search" type="search" name="search" value="${search}" placeholder="Search file names…" autocomplete="off" aria-label="Search file names"><button type="submit">Search</button></form>
    `,
    live: html`
      <p
        class="summary"><span data-stat="files">${total}</span> file${total === 1
          ? ""
          : "s"}${search
          ? html`
            matching “${search}”
          `
          : ""}</p>${files.length === 0
          ? html`<p class="empty">No file${search ? " matches" : " is shared yet"}.</p>`
          : html`
            <table class="files">
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="n">Size</th>
                  <th class="n">Sources online</th>
                  <th class="n">Holders</th>
                  <th class="n">Downloading</th>
                  <th>SHA-256</th>
                </tr>
              </thead>
              <tbody>${rows}</tbody>
            </table>${paging.next
              ? html`
                <p
                  class="more">Showing ${files.length} of ${total}. <a rel="next" href="${paging
                    .next}">Next page →</a></p>
              `
              : ""}
          `}
    `,
  };
}

/** A holder's or download's row on a file's page. */
function holderRow(h: HolderView, now: number): Html {
  return html`
    <tr data-user="${h.user}" ${h.complete ? "" : html`
      data-progress="${h.progress}"
    `}${h.stalled
      ? html`
        data-stalled="1"
      `
      : ""}>
      <td>${peerLink(h.user)}</td>
      <td><code>${h.address}</code></td>
      <td>${h.complete ? status(h.online) : downloadState(h)}</td>
      <td>${h.complete ? "whole" : progressBar(h.progress)}</td>
      <td class="n" data-col="rate">${h.complete ? "" : formatRate(h.bytesPerSecond ?? null)}</td>
      <td>${ago(h.lastSeen, now)}</td>
      <td class="n">${formatCount(h.downloads)}</td>
      <td class="n">${formatCount(h.failures)}</td>
    </tr>
  `;
}

/** A file's page: each version with its counts, chunk map and swarm, then its transfers. */
export function filePage(file: FileDetailView, now: number): Page {
  const versions = file.versions.map((v, i) =>
    html`
      <section class="version"
        data-sha256="${v.sha256}"><h2>${file.versions.length > 1
          ? `Version ${i + 1}`
          : "Content"}</h2><dl><dt>SHA-256</dt><dd><code>${v
          .sha256}</code></dd><dt>Size</dt><dd>${formatBytes(v.size)} (${v
          .size} bytes)</dd><dt>Chunks</dt><dd>${v.chunks} × ${formatBytes(
            v.chunkSize,
          )}</dd><dt>Sources online</dt><dd data-stat="sourcesOnline">${v.counts
          .sourcesOnline}</dd><dt>Holders</dt><dd data-stat="holders">${v.counts
          .holders}</dd><dt>Downloading</dt><dd data-stat="downloading">${v.counts
          .downloading}</dd><dt>Stalled</dt><dd data-stat="stalled">${v.counts.stalled}</dd></dl>
      <h3>Chunk map</h3>${chunkMap(v.chunkMap)}${chunkMapLegend()}
      <h3>Swarm</h3><table class="holders"><thead><tr><th>User</th><th>Address</th><th>Status</th><th>Progress</th><th class="n">Rate</th><th>Last seen</th><th class="n">Downloads</th><th class="n">Failures</th></tr></thead><tbody>${v
        .holders.map((h) => holderRow(h, now))}</tbody></table></section>
    `
  );
  return {
    section: "files",
    title: file.name,
    live: html`${versions}<section><h2>Transfers</h2>${
      transfersTable(file.transfers, now, "No transfers of this file yet.")
    }</section>`,
  };
}

/** A peer's status: online or offline; downloading or seeding for a `get` that never announced. */
function peerStatus(p: PeerView): Html {
  if (!p.announced && p.online) {
    return p.downloading > 0
      ? html`<span class="pill busy">downloading</span>`
      : html`<span class="pill on">seeding</span>`;
  }
  return status(p.online);
}

/** A peer's page: its counts, what it shares, what it downloads, its transfers. */
export function peerPage(detail: PeerDetailView, now: number): Page {
  const p = detail.peer;
  const shares = detail.shares.length === 0 ? html`<p class="empty">It shares no file.</p>` : html`
    <table class="files">
      <thead>
        <tr>
          <th>Name</th>
          <th class="n">Size</th>
          <th class="n">Sources online</th>
          <th class="n">Holders</th>
          <th class="n">Downloading</th>
        </tr>
      </thead>
      <tbody>${detail.shares.map((f) =>
        html`
          <tr data-name="${f.name}">
            <td>${fileLink(f.name)}</td>
            <td class="n">${formatBytes(f.size)}</td>
            <td class="n">${f.sourcesOnline}</td>
            <td class="n">${f.holders}</td>
            <td class="n">${f.downloading}</td>
          </tr>
        `
      )}</tbody>
    </table>
  `;
  return {
    section: "peers",
    title: p.user,
    live: html`
      <dl class="peer">
        <dt>Status</dt>
        <dd>${peerStatus(p)}</dd>
        <dt>Address</dt>
        <dd><code>${p
          .address || "—"}</code></dd>
        <dt>Last seen</dt>
        <dd>${ago(
          p.lastSeen,
          now,
        )}</dd>
        <dt>Files shared</dt>
        <dd data-stat="filesShared">${p
          .filesShared} (${formatBytes(
            p.bytesShared,
          )})</dd>
        <dt>Downloading</dt>
        <dd data-stat="downloading">${p
          .downloading}</dd>
        <dt>Stalled</dt>
        <dd data-stat="stalled">${p
          .stalled}</dd>
        <dt>Served</dt>
        <dd data-stat="downloads">${formatCount(
          p.downloads,
        )} downloads, ${formatCount(p.failures)} failures</dd>
      </dl>
      <section><h2>Downloading</h2>${downloadsTable(
        detail.downloads,
        "No download in progress.",
      )}</section>
      <section><h2>Shares</h2>${shares}</section>
      <section><h2>Transfers</h2>${transfersTable(
        detail.transfers,
        now,
        "No transfer from or to this peer since the tracker started.",
      )}</section>
    `,
  };
}

/** A page for a peer the tracker does not know. */
export function missingPeerPage(user: string): Page {
  return {
    section: "peers",
    title: user,
    live: html`
      <p
        class="empty">No peer named <code>${user}</code> announced or downloads now. <a href="/peers">All peers</a></p>
    `,
  };
}

/** A page for a file nobody shares. */
export function missingFilePage(name: string): Page {
  return {
    section: "files",
    title: name,
    live: html`
      <p
        class="empty">Nobody shares a file named <code>${name}</code> (any more). <a href="/files">All files</a></p>
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
  return {
    section: "transfers",
    title: "Transfers",
    live: html`<section><h2>In progress</h2>${
      downloadsTable(downloads, "No download in progress.")
    }</section>
<section><h2>Per minute, last hour</h2>${transfersChart(stats.perMinute)}</section>
<section><h2>Failures by reason</h2>${
      reasons.length === 0
        ? html`<p class="empty">No failure reported since the tracker started.</p>`
        : html`<ul class="reasons">${
          reasons.map(([reason, n]) => html`<li><b>${reason}</b>: ${n}</li>`)
        }</ul>`
    }</section>
<section><h2>Latest ${transfers.length} transfers</h2>${
      transfersTable(transfers, stats.now, "No transfers since the tracker started.")
    }</section>`,
  };
}

/** A page for an unknown address. */
export function notFoundPage(path: string): Page {
  return {
    section: "",
    title: "Not found",
    live:
      html`<p class="empty">There is no page at <code>${path}</code>. <a href="/">Overview</a></p>`,
  };
}
