/**
 * The tracker's TCP server: opens the store, listens, and serves every connection concurrently.
 *
 * @module
 */
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
  const kvPath = options.kvPath ?? "./data/tracker.kv";
  const store = await KvTrackerStore.open(kvPath);
  const service = new TrackerService(store, options);
  const listener = Deno.listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 7070,
  });
  const stop = new AbortController();
  const connections = new Set<Promise<void>>();
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const done = serveTrackerConnection(conn, service, { ...options, signal: stop.signal })
          .finally(() => connections.delete(done));
        connections.add(done);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  })();
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      stop.abort();
      listener.close();
      await accepting;
      await Promise.allSettled([...connections]);
      await store[Symbol.asyncDispose]();
    })();
  return { addr: listener.addr as Deno.NetAddr, close, [Symbol.asyncDispose]: close };
}
