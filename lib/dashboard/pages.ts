/**
 * The dashboard's pages, rendered on the server from the views. Each page has a static part (the
 * search box) and a live part that the page's script re-fetches on every change notice; with
 * `fragment` only the live part is rendered.
 *
 * @module
 */
import { chunkMap, transfersChart } from "./chart.ts";
import type { TransferRecord } from "./event_log.ts";
import { formatAgo, formatBytes, formatCount } from "./format.ts";
import { type Html, html } from "./html.ts";
import type { FileDetailView, FileView, PeerView, Stats } from "./views.ts";

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
    <h1>${page.title}</h1>
    ${page.fixed ?? ""}
    <div id="live">${page.live}</div>
        </main>
        <footer>Read-only JSON: <a href="/api/stats">/api/stats</a> · <a href="/api/peers">/api/peers</a> · <a href="/api/files">/api/files</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></footer>
      </body>
    </html>
  `.value;
}

/** Link to a file's page; each segment of the name is URL-encoded. */
export function fileHref(name: string): string {
  return "/files/" + name.split("/").map(encodeURIComponent).join("/");
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
        <td><a href="${fileHref(t.name)}">${t.name}</a></td>
        <td>${t.source}</td>
        <td>${t.user ?? "?"}</td>
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

/** The overview: headline numbers, transfers per minute, busiest files, latest transfers. */
export function overviewPage(stats: Stats, recent: readonly TransferRecord[]): Page {
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
              <td><a href="${fileHref(f.name)}">${f.name}</a></td>
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
        "transfersLastHour",
        String(stats.transfersLastHour),
        "transfers, last hour",
        formatBytes(stats.bytesLastHour),
      )}
      ${card("failuresLastHour", String(stats.failuresLastHour), "failures, last hour")}
      </section>
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
  const online = peers.filter((p) => p.online).length;
  const rows = sorted.map((p) =>
    html`
      <tr data-user="${p.user}">
        <td>${p.user}</td>
        <td><code>${p.address}</code></td>
        <td>${status(p.online)}</td>
        <td>${ago(p.lastSeen, now)}</td>
        <td class="n" data-col="downloads">${formatCount(p.downloads)}</td>
        <td class="n" data-col="failures">${formatCount(p.failures)}</td>
        <td class="n" data-col="files">${p.filesShared}</td>
        <td class="n">${formatBytes(p.bytesShared)}</td>
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
                )}${head("files", "Files", true)}${head("bytes", "Shared", true)}</tr>
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
        <td><a href="${fileHref(f.name)}">${f.name}</a></td>
        <td class="n">${formatBytes(f.size)}</td>
        <td class="n" data-col="sources">${f.sourcesOnline}</td>
        <td class="n">${f.holders}</td>
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

/** A file's page: each version with its chunk map and holders, then its transfers. */
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
          )}</dd><dt>Sources online</dt><dd data-stat="sourcesOnline">${v
          .sourcesOnline}</dd><dt>Holders</dt><dd>${v.holders.length}</dd></dl>
      <h3>Chunk map</h3><p class="hint">How many online sources hold each chunk: every complete holder, and each download in progress that has verified it.</p>${chunkMap(
        v.chunkMap,
      )}
      <h3>Swarm</h3><table class="holders"><thead><tr><th>User</th><th>Address</th><th>Status</th><th>Last seen</th><th class="n">Downloads</th><th class="n">Failures</th></tr></thead><tbody>${v
        .holders.map((h) =>
          html`
            <tr data-user="${h.user}">
              <td>${h.user}</td>
              <td><code>${h.address}</code></td>
              <td>${h.complete
                ? status(h.online)
                : `downloading ${Math.floor(h.progress * 100)}%${
                  h.stalled ? ", stalled" : ""
                }`}</td>
              <td>${ago(h.lastSeen, now)}</td>
              <td class="n">${formatCount(h.downloads)}</td>
              <td class="n">${formatCount(h.failures)}</td>
            </tr>
          `
        )}</tbody></table></section>
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

/** Recent transfers and failures, with reasons and a chart. */
export function transfersPage(
  stats: Stats,
  transfers: readonly TransferRecord[],
  failuresByReason: ReadonlyMap<string, number>,
): Page {
  const reasons = [...failuresByReason].sort((a, b) => b[1] - a[1]);
  return {
    section: "transfers",
    title: "Transfers",
    live: html`<section><h2>Per minute, last hour</h2>${transfersChart(stats.perMinute)}</section>
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
