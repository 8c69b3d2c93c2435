/**
 * Serving the dashboard over HTTP beside a running tracker, with connection caps overall and per
 * address (an IPv6 /64 counts as one), and a deadline for request headers: a connection that has
 * not sent a request's complete headers {@link HTTP_HEADER_TIMEOUT_MS} after its accept (or after
 * its last response) is closed, and at most {@link MAX_HTTP_WAITING_FOR_HEADERS} connections wait
 * for headers at once (a newcomer closes the oldest of the address holding the most; see
 * {@link FairSlots}), so slow senders cannot keep honest requests
 * out. `Deno.serve` cannot cap connections, and in Deno 2.9.6 its accept loop ends the
 * process with an uncaught `Too many open files`; so the dashboard accepts on a `Deno.listen`
 * loop of its own ({@link serveListener}: caps overall and per address, accept errors survived)
 * and serves each connection with Deno's HTTP/1.1 connection server, `Deno.serveHttp`.
 *
 * @module
 */
import {
  addressGroup,
  type Conn,
  FairSlots,
  HTTP_HEADER_TIMEOUT_MS,
  MAX_EVENT_STREAMS,
  MAX_HTTP_CONNECTIONS,
  MAX_HTTP_CONNECTIONS_PER_ADDRESS,
  MAX_HTTP_WAITING_FOR_HEADERS,
  serveListener,
} from "../protocol/mod.ts";
import { ChangeFeed } from "./change_feed.ts";
import {
  type AccessBackend,
  type AccessHandler,
  type DashboardAccess,
  withAccess,
} from "./access.ts";
import { createDashboardHandler } from "./handler.ts";
import type { DashboardSource } from "./views.ts";

/** Settings of {@link startDashboard}. */
export interface DashboardOptions {
  /** Address to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Port; 0 picks a free one. Default 7080. */
  port?: number;
  /** Listen on a port other processes listen on too (`--workers`; needs `--unstable-net`). */
  reusePort?: boolean;
  /** Most connections at once; default {@link MAX_HTTP_CONNECTIONS}. */
  maxConnections?: number;
  /** Most connections at once from one address; default {@link MAX_HTTP_CONNECTIONS_PER_ADDRESS}. */
  maxPerAddress?: number;
  /** Time to send a request's headers; default {@link HTTP_HEADER_TIMEOUT_MS}. */
  headerTimeoutMs?: number;
  /** Most connections waiting for headers at once; default {@link MAX_HTTP_WAITING_FOR_HEADERS}. */
  maxWaitingForHeaders?: number;
  /** Most event streams at once; default {@link MAX_EVENT_STREAMS}. */
  maxEventStreams?: number;
  /** Called with one line about a request that failed inside the server. */
  onLog?: (line: string) => void;
  /** Sign-in and the admin page (see `access.ts`); without it the dashboard is public. */
  access?: { backend: AccessBackend; access: DashboardAccess; secure?: boolean };
}

/** A running dashboard. */
export interface RunningDashboard extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Ends every event stream, stops listening and waits for open requests. */
  close(): Promise<void>;
}

/** One request on an HTTP connection, as `Deno.serveHttp` yields it. */
interface RequestEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): Promise<void>;
}

/** An HTTP/1.1 connection, as `Deno.serveHttp` returns it. */
interface HttpConn extends AsyncIterable<RequestEvent> {
  close(): void;
}

/**
 * `Deno.serveHttp`: still in the 2.9.6 runtime, though its type was dropped in Deno 2; it is the
 * one built-in HTTP server that takes a connection we accepted ourselves.
 */
function serveHttp(conn: Conn): HttpConn {
  const api = (Deno as unknown as { serveHttp?: (conn: Conn) => HttpConn }).serveHttp;
  if (!api) throw new Error("Cannot serve HTTP: this Deno has no Deno.serveHttp");
  return api(conn);
}

/** Answers a connection over a cap with a 503, without waiting, and closes it. */
function refuseHttp(conn: Conn, message: string): void {
  const body = `${message}\n`;
  const bytes = new TextEncoder().encode(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${new TextEncoder().encode(body).length}\r\nretry-after: 5\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
  conn.write(bytes).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  });
}

/**
 * Serves the dashboard for `source` until closed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvTrackerStore } from "../tracker/mod.ts";
 * import { EventLog, startDashboard } from "./mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * await using dashboard = startDashboard({ store, heartbeatMs: 1000, events: new EventLog() }, {
 *   port: 0,
 * });
 * const response = await fetch(`http://127.0.0.1:${dashboard.addr.port}/healthz`);
 * assert.equal((await response.json()).status, "ok");
 * ```
 */
export function startDashboard(
  source: DashboardSource,
  options: DashboardOptions = {},
): RunningDashboard {
  const stop = new AbortController();
  const listener = Deno.listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 7080,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  const feed = new ChangeFeed(source);
  const handler = createDashboardHandler(source, feed, {
    signal: stop.signal,
    maxEventStreams: options.maxEventStreams ?? MAX_EVENT_STREAMS,
  });
  const log = options.onLog ?? (() => {});
  const guarded: AccessHandler = options.access
    ? withAccess(handler, options.access.backend, options.access)
    : async (request) => await handler(request);
  const answer = async (request: Request, address?: string): Promise<Response> => {
    try {
      return await guarded(request, address);
    } catch (error) {
      log(`dashboard error: ${error instanceof Error ? error.message : error}`);
      return new Response("Cannot answer: internal error\n", { status: 500 });
    }
  };
  const headerTimeoutMs = options.headerTimeoutMs ?? HTTP_HEADER_TIMEOUT_MS;
  const waiting = new FairSlots(
    options.maxWaitingForHeaders ?? MAX_HTTP_WAITING_FOR_HEADERS,
  );
  const served = serveListener(
    listener,
    async (conn, signal) => {
      const http = serveHttp(conn);
      const hangUp = () => {
        try {
          http.close();
        } catch {
          // already closed
        }
      };
      signal.addEventListener("abort", hangUp, { once: true });
      const pending = new Set<Promise<void>>();
      // While no request is in flight, the connection waits for headers: it holds a waiting slot
      // (the oldest holder is closed when they are all taken) and a deadline.
      let slot: { release(): void } | undefined;
      let deadline: ReturnType<typeof setTimeout> | undefined;
      const group = addressGroup(conn.remoteAddr.hostname);
      let ended = false;
      const awaitHeaders = () => {
        if (ended) return;
        slot = waiting.take(group, hangUp);
        deadline = setTimeout(hangUp, headerTimeoutMs);
      };
      const headersCame = () => {
        slot?.release();
        clearTimeout(deadline);
        slot = deadline = undefined;
      };
      awaitHeaders();
      try {
        for await (const event of http) {
          headersCame();
          const done = event.respondWith(answer(event.request, remoteHost(conn))).catch(() => {});
          pending.add(done);
          done.finally(() => {
            pending.delete(done);
            if (pending.size === 0 && !signal.aborted) awaitHeaders();
          });
        }
      } catch {
        // the client went away
      } finally {
        ended = true;
        headersCame();
        signal.removeEventListener("abort", hangUp);
        await Promise.allSettled([...pending]);
        try {
          http.close();
        } catch {
          // already closed
        }
      }
    },
    {
      maxConnections: options.maxConnections ?? MAX_HTTP_CONNECTIONS,
      maxPerAddress: options.maxPerAddress ?? MAX_HTTP_CONNECTIONS_PER_ADDRESS,
      refuse: refuseHttp,
      onLog: log,
    },
  );
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      stop.abort();
      feed[Symbol.dispose]();
      await served.close();
    })();
  return { addr: listener.addr, close, [Symbol.asyncDispose]: close };
}

/** The client's address of a connection, if it has one. */
function remoteHost(conn: Conn): string | undefined {
  const addr = conn.remoteAddr as Deno.Addr;
  return "hostname" in addr ? addr.hostname : undefined;
}
