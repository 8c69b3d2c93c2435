/**
 * Serving the dashboard over HTTP with `Deno.serve`, beside a running tracker.
 *
 * @module
 */
import { ChangeFeed } from "./change_feed.ts";
import { createDashboardHandler } from "./handler.ts";
import type { DashboardSource } from "./views.ts";

/** Settings of {@link startDashboard}. */
export interface DashboardOptions {
  /** Address to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Port; 0 picks a free one. Default 7080. */
  port?: number;
  /** Called with one line about a request that failed inside the server. */
  onLog?: (line: string) => void;
}

/** A running dashboard. */
export interface RunningDashboard extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Ends every event stream, stops listening and waits for open requests. */
  close(): Promise<void>;
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
  const feed = new ChangeFeed(source);
  const handler = createDashboardHandler(source, feed, { signal: stop.signal });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 7080,
      onListen: () => {},
      onError: (error) => {
        options.onLog?.(`dashboard error: ${error instanceof Error ? error.message : error}`);
        return new Response("Cannot answer: internal error\n", { status: 500 });
      },
    }, handler);
  } catch (error) {
    feed[Symbol.dispose]();
    throw error;
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      stop.abort();
      feed[Symbol.dispose]();
      await server.shutdown();
    })();
  return { addr: server.addr, close, [Symbol.asyncDispose]: close };
}
