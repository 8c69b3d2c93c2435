/**
 * Accepting connections: every connection is handed to its handler at once and served
 * concurrently, so a slow or silent client never holds up the others; connections over the caps
 * are turned away, and a failed accept never stops the loop.
 *
 * @module
 */
import { setTimeout as delay } from "node:timers/promises";
import { addressGroup } from "./address_group.ts";
import { encodeMessage } from "./channel.ts";
import { MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS } from "./limits.ts";
import type { Conn, Listener } from "./transport.ts";

/** Caps on concurrent connections. */
export interface ConnectionLimits {
  /** Most connections at once; default {@link MAX_CONNECTIONS}. */
  maxConnections?: number;
  /**
   * Most connections at once from one address (an IPv6 /64 counts as one, see
   * {@link addressGroup}); default {@link MAX_CONNECTIONS_PER_ADDRESS}.
   */
  maxPerAddress?: number;
}

/** Settings of {@link serveListener}. */
export interface ServeListenerOptions extends ConnectionLimits {
  /**
   * Turns away a connection over a cap, without waiting; default {@link refuseBusy} (a `BUSY`
   * error frame). It must close `conn`.
   */
  refuse?: (conn: Conn, message: string) => void;
  /** Told, once per run of failures, when accepting fails (e.g. too many open files). */
  onLog?: (line: string) => void;
}

/** Longest pause between accept attempts while accepting fails. */
const ACCEPT_BACKOFF_MAX_MS = 1_000;

/** Tells a connection over the limit why (a `BUSY` error frame) and closes it, without waiting. */
export function refuseBusy(conn: Conn, message: string): void {
  const frame = encodeMessage({ type: "error", code: "BUSY", message });
  conn.write(frame).catch(() => {}).finally(() => closeQuietly(conn));
}

function closeQuietly(conn: Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** A listener being served. */
export interface ServedListener extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Connections being served now. */
  readonly open: number;
  /** Stops accepting, aborts every handler's signal and waits for all of them. */
  close(): Promise<void>;
}

/**
 * Serves every connection `listener` accepts with `handle`, which gets a signal that aborts on
 * {@link ServedListener.close}. Connections over a cap are turned away at once. A failed accept
 * (out of file descriptors, a connection reset before it was accepted) never ends the loop: it
 * pauses, doubling from 5 ms up to 1 s while failures go on, and tries again.
 *
 * @example
 * ```ts ignore
 * await using served = serveListener(Deno.listen({ port: 0 }), async (conn) => conn.close());
 * ```
 */
export function serveListener(
  listener: Listener,
  handle: (conn: Conn, signal: AbortSignal) => Promise<void>,
  limits: ServeListenerOptions = {},
): ServedListener {
  const stop = new AbortController();
  const connections = new Set<Promise<void>>();
  const perAddress = new Map<string, number>();
  const maxTotal = limits.maxConnections ?? MAX_CONNECTIONS;
  const maxPerAddress = limits.maxPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS;
  const refuse = limits.refuse ?? refuseBusy;
  const admit = (conn: Conn) => {
    // Small control frames must not wait for the previous data to be acknowledged.
    if ("setNoDelay" in conn) conn.setNoDelay(true);
    // One IPv6 host may hold a whole /64: it counts as one address.
    const address = addressGroup((conn.remoteAddr as Deno.NetAddr).hostname);
    const fromThere = perAddress.get(address) ?? 0;
    if (connections.size >= maxTotal || fromThere >= maxPerAddress) {
      const why = connections.size >= maxTotal
        ? `${maxTotal} connections are open`
        : `${maxPerAddress} connections from ${address} are open`;
      refuse(conn, `Cannot accept connection: ${why}; try again later`);
      return;
    }
    perAddress.set(address, fromThere + 1);
    const done = handle(conn, stop.signal).catch(() => {}).finally(() => {
      connections.delete(done);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    connections.add(done);
  };
  const accepting = (async () => {
    let backoffMs = 0;
    while (!stop.signal.aborted) {
      let conn: Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stop.signal.aborted || error instanceof Deno.errors.BadResource) return;
        if (backoffMs === 0) {
          limits.onLog?.(
            `Cannot accept connection: ${error instanceof Error ? error.message : error}; retrying`,
          );
        }
        backoffMs = Math.min(Math.max(5, backoffMs * 2), ACCEPT_BACKOFF_MAX_MS);
        await delay(backoffMs, undefined, { signal: stop.signal }).catch(() => {});
        continue;
      }
      backoffMs = 0;
      try {
        admit(conn);
      } catch {
        closeQuietly(conn); // e.g. its address could not be read: it is gone already
      }
    }
  })();
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      stop.abort();
      try {
        listener.close();
      } catch {
        // already closed
      }
      await accepting;
      await Promise.allSettled([...connections]);
    })();
  return {
    addr: listener.addr,
    get open() {
      return connections.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
