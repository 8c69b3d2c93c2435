/**
 * Plain TCP or TLS, chosen in one place: {@link listen} and {@link connect} open one or the other
 * and hand back a connection the rest of the code treats alike. TLS uses `Deno.listenTls` and
 * `Deno.connectTls`; a client trusts the system's roots plus any CA certificates it is given.
 *
 * @module
 */

/** A certificate and key for a TLS listener, PEM text. */
export interface ServerTls {
  /** Certificate chain, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
}

/** Whether and how a client speaks TLS. */
export interface ClientTls {
  /** Extra CA certificates to trust, PEM (a lab CA). */
  caCerts?: string[];
}

/** A listener of either kind. */
export type Listener = Deno.Listener<Deno.TcpConn, Deno.NetAddr> | Deno.TlsListener;

/** A connection of either kind. */
export type Conn = Deno.TcpConn | Deno.TlsConn;

/**
 * Listens on `hostname:port`, with TLS when `tls` is given.
 *
 * @example
 * ```ts ignore
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * ```
 */
export function listen(
  options: { hostname: string; port: number; tls?: ServerTls; reusePort?: boolean },
): Listener {
  const { hostname, port, tls } = options;
  // Several processes may listen on one port (the kernel spreads connections over them); Deno
  // allows it with --unstable-net.
  const reuse = options.reusePort ? { reusePort: true } : {};
  return tls
    ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key, transport: "tcp", ...reuse })
    : Deno.listen({ hostname, port, ...reuse });
}

/**
 * Connects to `hostname:port`, with TLS when `tls` is given, and finishes the TLS handshake so a
 * certificate the client does not trust fails here, with a clear message.
 *
 * @example
 * ```ts ignore
 * const conn = await connect({ hostname: "127.0.0.1", port: 7070, tls: { caCerts: [pem] } });
 * ```
 */
export async function connect(
  options: { hostname: string; port: number; signal?: AbortSignal; tls?: ClientTls },
): Promise<Conn> {
  const { hostname, port, signal, tls } = options;
  if (!tls) {
    const conn = await Deno.connect({ hostname, port, ...(signal ? { signal } : {}) });
    conn.setNoDelay(true);
    return conn;
  }
  signal?.throwIfAborted();
  const conn = await Deno.connectTls({
    hostname,
    port,
    ...(tls.caCerts ? { caCerts: tls.caCerts } : {}),
  });
  const abort = () => conn.close();
  signal?.addEventListener("abort", abort, { once: true });
  try {
    await conn.handshake();
  } catch (cause) {
    try {
      conn.close();
    } catch {
      // already closed
    }
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(
      `TLS handshake failed (${why}); if the certificate comes from a lab CA, pass --tls-ca`,
      { cause },
    );
  } finally {
    signal?.removeEventListener("abort", abort);
  }
  return conn;
}

/** Reads a PEM file for {@link ServerTls} or {@link ClientTls}. */
export async function readPem(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(
      `Cannot read ${path}: ${cause instanceof Error ? cause.message : cause}`,
      { cause },
    );
  }
}
