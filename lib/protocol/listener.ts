/**
 * Accepting connections: every connection is handed to its handler at once and served
 * concurrently, so a slow or silent client never holds up the others.
 *
 * @module
 */
import { encodeMessage } from "./channel.ts";
import { MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS } from "./limits.ts";
import type { Conn, Listener } from "./transport.ts";

/** Caps on concurrent connections. */
export interface ConnectionLimits {
  /** Most connections at once; default {@link MAX_CONNECTIONS}. */
  maxConnections?: number;
  /** Most connections at once from one address; default {@link MAX_CONNECTIONS_PER_ADDRESS}. */
  maxPerAddress?: number;
}

/** Tells a connection over the limit why (a `BUSY` error frame) and closes it, without waiting. */
function refuse(conn: Conn, message: string): void {
  const frame = encodeMessage({ type: "error", code: "BUSY", message });
  conn.write(frame).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  });
}

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
  limits: ConnectionLimits = {},
): ServedListener {
  const stop = new AbortController();
  const connections = new Set<Promise<void>>();
  const perAddress = new Map<string, number>();
  const maxTotal = limits.maxConnections ?? MAX_CONNECTIONS;
  const maxPerAddress = limits.maxPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS;
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        // Small control frames must not wait for the previous data to be acknowledged.
        if ("setNoDelay" in conn) conn.setNoDelay(true);
        const address = conn.remoteAddr.hostname;
        const fromThere = perAddress.get(address) ?? 0;
        if (connections.size >= maxTotal || fromThere >= maxPerAddress) {
          const why = connections.size >= maxTotal
            ? `${maxTotal} connections are open`
            : `${maxPerAddress} connections from ${address} are open`;
          refuse(conn, `Cannot accept connection: ${why}; try again later`);
          continue;
        }
        perAddress.set(address, fromThere + 1);
        const done = handle(conn, stop.signal).catch(() => {}).finally(() => {
          connections.delete(done);
          const left = (perAddress.get(address) ?? 1) - 1;
          if (left > 0) perAddress.set(address, left);
          else perAddress.delete(address);
        });
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
