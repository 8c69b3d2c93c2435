/**
 * The tracker's TCP server: opens the store, listens, and serves every connection concurrently.
 *
 * @module
 */
import { serveListener } from "../protocol/mod.ts";
import { type ConnectionOptions, serveTrackerConnection } from "./connection.ts";
import { TrackerService, type TrackerServiceOptions } from "./service.ts";
import { KvTrackerStore } from "./store.ts";

/** Settings of {@link startTracker}. */
export interface TrackerOptions extends TrackerServiceOptions, Omit<ConnectionOptions, "signal"> {
  /** Address to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. Default 7070. */
  port?: number;
  /** KV location: a file path, `:memory:` or a remote URL. Default `./data/tracker.kv`. */
  kvPath?: string;
}

/** A running tracker. */
export interface RunningTracker extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Stops listening, closes every connection and the store. */
  close(): Promise<void>;
}

/**
 * Starts a tracker.
 *
 * @example
 * ```ts ignore
 * await using tracker = await startTracker({ port: 0, kvPath: ":memory:" });
 * console.log(tracker.addr.port);
 * ```
 */
export async function startTracker(options: TrackerOptions = {}): Promise<RunningTracker> {
  const listener = Deno.listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 7070,
  });
  let store: KvTrackerStore;
  try {
    store = await KvTrackerStore.open(options.kvPath ?? "./data/tracker.kv");
  } catch (error) {
    listener.close();
    throw error;
  }
  const service = new TrackerService(store, options);
  const served = serveListener(
    listener,
    (conn, signal) => serveTrackerConnection(conn, service, { ...options, signal }),
  );
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      await served.close();
      await store[Symbol.asyncDispose]();
    })();
  return { addr: served.addr, close, [Symbol.asyncDispose]: close };
}
