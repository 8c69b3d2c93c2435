/**
 * The dashboard as a function from `Request` to `Response`, with no socket in sight: pages, the
 * read-only JSON API, server-sent events, `/metrics` and `/healthz`. {@link startDashboard} serves
 * it with `Deno.serve`; tests can call it directly.
 *
 * | path                   | answer                                                        |
 * |------------------------|---------------------------------------------------------------|
 * | `/`                    | overview page                                                 |
 * | `/peers?sort=&dir=`    | peers page                                                    |
 * | `/peers/{name}`        | a peer's page (the name URL-encoded)                          |
 * | `/files?search=`       | files page                                                    |
 * | `/files/{name}`        | a file's page (each segment URL-encoded)                      |
 * | `/transfers`           | transfers and failures page                                   |
 * | `/api/stats`           | {@link Stats}                                                 |
 * | `/api/peers`           | {@link PeerView}[]                                            |
 * | `/api/peers/{name}`    | {@link PeerDetailView}, or 404                                |
 * | `/api/downloads`       | {@link DownloadView}[]: downloads in progress                 |
 * | `/api/files?search=`   | {@link FileView}[]                                            |
 * | `/api/files/{name}`    | {@link FileDetailView}, or 404                                |
 * | `/api/transfers?limit=`| {@link TransferRecord}[], newest first                        |
 * | `/api/events`          | `text/event-stream`: `hello`, then `change` {@link Change}s   |
 * | `/metrics`             | Prometheus text format                                        |
 * | `/healthz`             | `{"status":"ok", pid, worker?}`, 503 if the store is silent |
 *
 * A page asked for with the header `X-Fragment: 1` returns only its live part.
 *
 * @module
 */
import { APP_CSS, APP_JS } from "./assets.ts";
import type { Change, ChangeFeed } from "./change_feed.ts";
import type { DownloadView } from "./downloads.ts";
import type { TransferRecord } from "./event_log.ts";
import { type Html } from "./html.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { type Page, renderDocument } from "./layout.ts";
import {
  filePage,
  filesPage,
  missingFilePage,
  missingPeerPage,
  notFoundPage,
  overviewPage,
  peerPage,
  peersPage,
  transfersPage,
} from "./pages.ts";
import { PEER_SORTS } from "./tables.ts";
import {
  type DashboardSource,
  type FileDetailView,
  type FileView,
  type PeerDetailView,
  type PeerView,
  readDownloadViews,
  readFile,
  readFiles,
  readPeer,
  readPeers,
  readStats,
  type Stats,
} from "./views.ts";

/** Settings of {@link createDashboardHandler}. */
export interface DashboardHandlerOptions {
  /** Ends every event stream when aborted (so the server can shut down). */
  signal?: AbortSignal;
  /** How often an idle event stream gets a keep-alive comment. Default 15 s. */
  keepAliveMs?: number;
  /** Most event streams open at once; more get a 503. Default unlimited. */
  maxEventStreams?: number;
}

/** A request handler. */
export type Handler = (request: Request) => Promise<Response>;

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Files listed on one page of `/files`. */
const FILES_PER_PAGE = 500;

/**
 * The files after the cursor `?after=` (a name, a NUL, a version id), at most `limit`, and the
 * cursor of the page after it.
 */
function pageOfFiles(
  files: FileView[],
  url: URL,
  limit: number,
): { page: FileView[]; next?: string } {
  const after = url.searchParams.get("after");
  let from = 0;
  if (after) {
    const [name = "", id = ""] = after.split("\u0000");
    from = files.findIndex((f) => f.name > name || (f.name === name && f.id > id));
    if (from < 0) from = files.length;
  }
  const page = files.slice(from, from + limit);
  const last = page.at(-1);
  return from + limit < files.length && last
    ? { page, next: `${last.name}\u0000${last.id}` }
    : { page };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "access-control-allow-origin": "*",
    },
  });
}

function text(body: string, contentType: string, status = 200, cache = "no-store"): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": contentType, "cache-control": cache },
  });
}

function page(request: Request, view: Page, status = 200): Response {
  const fragment = request.headers.get("x-fragment") === "1";
  const body = fragment ? (view.live as Html).value : renderDocument(view);
  const response = text(body, "text/html; charset=utf-8", status);
  response.headers.set("vary", "X-Fragment");
  return response;
}

/** The name after `prefix` in `pathname`, each segment decoded; null when malformed or empty. */
function nameAfter(pathname: string, prefix: string): string | null {
  try {
    const name = pathname.slice(prefix.length).split("/").map(decodeURIComponent).join("/");
    return name === "" ? null : name;
  } catch {
    return null;
  }
}

function failuresByReason(transfers: readonly TransferRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of transfers) {
    if (!t.ok) counts.set(t.reason ?? "unknown", (counts.get(t.reason ?? "unknown") ?? 0) + 1);
  }
  return counts;
}

/**
 * A thing with a page of its own: `/api/{kind}/{name}` answers its view as JSON and
 * `/{kind}/{name}` its page; a name nobody knows gets a 404 (an error or a "missing" page).
 */
interface DetailRoute<V> {
  kind: string;
  read(source: DashboardSource, name: string): Promise<V | null>;
  page(view: V, now: number): Page;
  missingPage(name: string): Page;
  notFound(name: string): string;
}

/** A {@link DetailRoute} whose `read` and `page` are checked to agree on the view. */
function detailRoute<V>(route: DetailRoute<V>): DetailRoute<unknown> {
  return route;
}

const DETAIL_ROUTES: readonly DetailRoute<unknown>[] = [
  detailRoute<FileDetailView>({
    kind: "files",
    read: readFile,
    page: filePage,
    missingPage: missingFilePage,
    notFound: (name) => `Cannot find file: ${name} is not shared`,
  }),
  detailRoute<PeerDetailView>({
    kind: "peers",
    read: readPeer,
    page: peerPage,
    missingPage: missingPeerPage,
    notFound: (name) => `Cannot find peer: ${name} is not known`,
  }),
];

/**
 * Builds the dashboard's request handler over `source`, with change notices from `feed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvTrackerStore } from "../tracker/mod.ts";
 * import { ChangeFeed, createDashboardHandler, EventLog } from "./mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const source = { store, heartbeatMs: 10_000, events: new EventLog() };
 * using feed = new ChangeFeed(source);
 * const handle = createDashboardHandler(source, feed);
 * const response = await handle(new Request("http://localhost/api/stats"));
 * assert.equal((await response.json()).peersOnline, 0);
 * ```
 */
export function createDashboardHandler(
  source: DashboardSource,
  feed: ChangeFeed,
  options: DashboardHandlerOptions = {},
): Handler {
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const maxStreams = options.maxEventStreams ?? Infinity;
  let streams = 0;

  function eventStream(): Response {
    if (streams >= maxStreams) {
      const response = json(
        { error: `Cannot open event stream: ${maxStreams} are open; try again later` },
        503,
      );
      response.headers.set("retry-after", "5");
      return response;
    }
    streams++;
    let counted = true;
    const uncount = () => {
      if (counted) streams--;
      counted = false;
    };
    const encoder = new TextEncoder();
    let stop = uncount;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (chunk: string) => {
          try {
            controller.enqueue(encoder.encode(chunk));
          } catch {
            stop();
          }
        };
        const unsubscribe = feed.subscribe((change: Change) =>
          send(`id: ${change.seq}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`)
        );
        const keepAlive = setInterval(() => send(": keep-alive\n\n"), keepAliveMs);
        const end = () => {
          stop();
          try {
            controller.close();
          } catch {
            // already closed
          }
        };
        stop = () => {
          uncount();
          unsubscribe();
          clearInterval(keepAlive);
          options.signal?.removeEventListener("abort", end);
        };
        options.signal?.addEventListener("abort", end, { once: true });
        send(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ seq: feed.seq })}\n\n`);
        if (options.signal?.aborted) end();
      },
      cancel() {
        stop();
      },
    });
    return new Response(body, {
      headers: {
        ...SECURITY_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  async function route(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    const search = url.searchParams.get("search") ?? "";
    switch (path) {
      case "/healthz":
        await source.store.getPeer("");
        return json({
          status: "ok",
          uptimeS: (source.events.now() - source.events.startedAt) / 1000,
          // Which process answered: with several workers, each serves this port.
          pid: Deno.pid,
          ...(source.worker !== undefined ? { worker: source.worker } : {}),
        });
      case "/metrics":
        return text(
          renderMetrics(
            await readStats(source),
            source.shared ? await source.shared.counters() : source.events.counters(),
          ),
          METRICS_CONTENT_TYPE,
        );
      case "/api/events":
        return eventStream();
      case "/api/stats":
        return json(await readStats(source) satisfies Stats);
      case "/api/peers":
        return json(await readPeers(source) satisfies PeerView[]);
      case "/api/downloads":
        return json(await readDownloadViews(source) satisfies DownloadView[]);
      case "/api/files": {
        // A page of at most `limit` files (default 1,000) after the cursor `after`; the next
        // page's address is in the `link` header.
        const limit = Math.min(10_000, Math.max(1, Number(url.searchParams.get("limit")) || 1000));
        const files = pageOfFiles(await readFiles(source, search), url, limit);
        const response = json(files.page satisfies FileView[]);
        if (files.next) {
          const next = new URL(url);
          next.searchParams.set("after", files.next);
          response.headers.set("link", `<${next.pathname}${next.search}>; rel="next"`);
        }
        return response;
      }
      case "/api/transfers": {
        const limit = Math.min(10_000, Math.max(1, Number(url.searchParams.get("limit")) || 100));
        return json(source.events.transfers({ limit }));
      }
      case "/assets/app.css":
        return text(APP_CSS, "text/css; charset=utf-8", 200, "max-age=300");
      case "/assets/app.js":
        return text(APP_JS, "text/javascript; charset=utf-8", 200, "max-age=300");
      case "/":
        return page(
          request,
          overviewPage(
            await readStats(source),
            source.events.transfers({ limit: 10 }),
            await readDownloadViews(source),
          ),
        );
      case "/peers": {
        const sort = url.searchParams.get("sort") ?? "user";
        const dir = url.searchParams.get("dir") === "desc" ? "desc" : "asc";
        return page(
          request,
          peersPage(
            await readPeers(source),
            source.events.now(),
            sort in PEER_SORTS ? sort : "user",
            dir,
          ),
        );
      }
      case "/files": {
        const all = await readFiles(source, search);
        const files = pageOfFiles(all, url, FILES_PER_PAGE);
        const next = files.next
          ? `/files?${new URLSearchParams({ search, after: files.next })}`
          : undefined;
        return page(
          request,
          filesPage(files.page, search, { total: all.length, ...(next ? { next } : {}) }),
        );
      }
      case "/transfers": {
        const transfers = source.events.transfers({ limit: 200 });
        return page(
          request,
          transfersPage(
            await readStats(source),
            transfers,
            failuresByReason(source.events.transfers()),
            await readDownloadViews(source),
          ),
        );
      }
    }
    for (const route of DETAIL_ROUTES) {
      const api = path.startsWith(`/api/${route.kind}/`);
      if (!api && !path.startsWith(`/${route.kind}/`)) continue;
      const name = nameAfter(path, api ? `/api/${route.kind}/` : `/${route.kind}/`);
      const found = name === null ? null : await route.read(source, name);
      if (api) return found ? json(found) : json({ error: route.notFound(name ?? path) }, 404);
      if (!found) return page(request, route.missingPage(name ?? path), 404);
      return page(request, route.page(found, source.events.now()));
    }
    if (path.startsWith("/api/")) return json({ error: `Cannot find ${path}: no such API` }, 404);
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    return page(request, notFoundPage(path), 404);
  }

  return async (request: Request): Promise<Response> => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Cannot accept request: the dashboard is read-only\n", {
        status: 405,
        headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
      });
    }
    const url = new URL(request.url);
    try {
      return await route(request, url);
    } catch (error) {
      const message = `Cannot answer ${url.pathname}: ${
        error instanceof Error ? error.message : String(error)
      }`;
      return url.pathname === "/healthz"
        ? json({ status: "unavailable", error: message }, 503)
        : json({ error: message }, 500);
    }
  };
}
