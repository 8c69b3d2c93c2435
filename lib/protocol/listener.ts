/**
 * Accepting connections: every connection is handed to its handler at once and served
 * concurrently, so a slow or silent client never holds up the others.
 *
 * @module
 */
import type { Conn, Listener } from "./transport.ts";

/** A listener being served. */
export interface ServedListener extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Stops accepting, aborts every handler's signal and waits for all of them. */
  close(): Promise<void>;
}

/**
 * Serves every connection `listener` accepts with `handle`, which gets a signal that aborts on
 * {@link ServedListener.close}.
 *
 * @example
 * ```ts ignore
 * await using served = serveListener(Deno.listen({ port: 0 }), async (conn) => conn.close());
 * ```
 */
export function serveListener(
  listener: Listener,
  handle: (conn: Conn, signal: AbortSignal) => Promise<void>,
): ServedListener {
  const stop = new AbortController();
  const connections = new Set<Promise<void>>();
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        // Small control frames must not wait for the previous data to be acknowledged.
        if ("setNoDelay" in conn) conn.setNoDelay(true);
        const done = handle(conn, stop.signal).catch(() => {}).finally(() =>
          connections.delete(done)
        );
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
    })();
  return { addr: listener.addr, close, [Symbol.asyncDispose]: close };
}
