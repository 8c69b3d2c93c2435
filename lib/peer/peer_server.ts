/**
 * Serving other peers: `hello`, `ping`, `ticket`, and `read` of byte ranges of announced files.
 * A `read` is served only for a version a valid ticket from the tracker opened on this connection
 * (see `read_grants.ts`); a connection that shows none within `TICKET_WINDOW_MS` is closed, and
 * at most `MAX_UNTICKETED_CONNECTIONS` such connections are served at once. Only files in the
 * share index are served, by their relative name; before each read the path is resolved again and
 * must still lie inside the shared folder and match the indexed size and mtime, so a swapped
 * symlink or a file changed since indexing is refused rather than served.
 *
 * @module
 */
import {
  Channel,
  type ConnectionLimits,
  type Duplex,
  HANDSHAKE_TIMEOUT_MS,
  listen,
  parsePeerRequest,
  PEER_IDLE_TIMEOUT_MS,
  type PeerRequest,
  PROTOCOL_VERSION,
  SEND_STALL_MS,
  serveListener,
  serveRequests,
  type ServerTls,
  TICKET_WINDOW_MS,
  TicketError,
} from "../protocol/mod.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { ConnectionTickets, UnticketedCap, versionOf } from "./read_grants.ts";
import type { IndexedFile } from "./share_index.ts";
import { isInside } from "./share_index.ts";

/** What a peer server needs to know about its share. */
export interface ShareView {
  /** This peer's user name, told in `hello`. */
  readonly user: string;
  /** Real path of the shared folder. */
  readonly root: string;
  /** The indexed file of that name, if announced. */
  lookup(name: string): IndexedFile | undefined;
  /** Called when a file no longer matches its index entry. */
  onStale?(name: string): void;
  /** The tracker's ticket key, pinned at login; until there is one, no ticket is accepted. */
  trackerKey?(): CryptoKey | undefined;
}

/** Options for {@link servePeerConnection}. */
export interface PeerConnectionOptions {
  /** Time allowed for `hello`. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** A silent connection is closed after this long. Default 2 min. */
  idleTimeoutMs?: number;
  /** Closes the connection when aborted. */
  signal?: AbortSignal;
  /** Counts bytes sent, for status. */
  onSent?: (bytes: number) => void;
  /** Limits the upload rate (shared by every connection of the process). */
  limiter?: RateLimiter;
  /** Time to show a valid ticket before the connection is closed. Default 10 s. */
  ticketWindowMs?: number;
  /** Counts connections without a ticket against the server's cap (none: no cap). */
  unticketed?: UnticketedCap;
}

const SEND_BYTES = 1024 * 1024;

class Refusal extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * Serves one connection from another peer until it closes.
 *
 * @example
 * ```ts ignore
 * for await (const conn of listener) servePeerConnection(conn, share);
 * ```
 */
export async function servePeerConnection(
  conn: Duplex,
  share: ShareView,
  options: PeerConnectionOptions = {},
): Promise<void> {
  const channel = new Channel(conn);
  const cap = options.unticketed;
  if (cap && !cap.enter()) {
    await channel.send({
      type: "error",
      code: "BUSY",
      message:
        `Cannot accept connection: ${cap.max} connections without a ticket are open; try again later`,
    }).catch(() => {});
    channel.close();
    return;
  }
  let counted = cap !== undefined;
  const tickets = new ConnectionTickets();
  const window = setTimeout(() => {
    if (!tickets.any) channel.close();
  }, options.ticketWindowMs ?? TICKET_WINDOW_MS);
  const idleMs = options.idleTimeoutMs ?? PEER_IDLE_TIMEOUT_MS;
  channel.closeAfter(options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  if (options.signal) channel.closeOnAbort(options.signal);
  using open = new OpenFile();
  let sendBuffer: Uint8Array | undefined; // made on the first read: idle connections hold none
  try {
    await serveRequests<PeerRequest>(channel, {
      side: "peer",
      parse: parsePeerRequest,
      hello: () => ({
        type: "hello",
        version: PROTOCOL_VERSION,
        server: "peer",
        user: share.user,
        challenge: tickets.challenge,
      }),
      handle: async (request, streaming) => {
        if (request.type === "hello") return null; // answered by the loop
        if (request.type === "ping") return { type: "pong", nonce: request.nonce };
        if (request.type === "ticket") {
          const trackerKey = share.trackerKey?.();
          if (!trackerKey) {
            throw new Refusal(
              "FORBIDDEN",
              "Cannot accept ticket: this peer has no tracker key yet (it has not logged in)",
            );
          }
          await tickets.show(request.ticket, request.proof, trackerKey);
          if (counted) {
            cap?.leave();
            counted = false;
          }
          return { type: "ok" };
        }
        if (!tickets.any) {
          throw new Refusal(
            "FORBIDDEN",
            `Cannot read ${request.name}: show a ticket from the tracker's details first`,
          );
        }
        const file = open.get(share, request, tickets);
        channel.closeAfter(null); // a long send is not idleness (SEND_STALL_MS guards it)
        try {
          streaming();
          await channel.send({ type: "data", offset: request.offset, length: request.length });
          sendBuffer ??= new Uint8Array(SEND_BYTES);
          await sendRange(channel, file, request, sendBuffer, options);
        } finally {
          channel.closeAfter(idleMs);
        }
        return null;
      },
      isRefusal: (error): error is Refusal | TicketError =>
        error instanceof Refusal || error instanceof TicketError,
      idleMs: () => idleMs,
    });
  } finally {
    clearTimeout(window);
    if (counted) cap?.leave();
    channel.close();
  }
}

/**
 * The file a connection last read, kept open between requests: a downloader asks for one chunk
 * after another of the same file. The path is resolved and checked when the file is opened; each
 * further request only re-checks size and mtime on the open handle. These are synchronous calls
 * on purpose: they take microseconds, while the async versions wait for Deno's blocking-task
 * pool, measured here at 2–6 ms per request and up to 90 ms for the first one.
 */
class OpenFile implements Disposable {
  #entry: IndexedFile | undefined;
  #file: Deno.FsFile | undefined;

  get(
    share: ShareView,
    request: { name: string; sha256: string; offset: number; length: number },
    tickets: ConnectionTickets,
  ): Deno.FsFile {
    const entry = checkRequest(share, request);
    if (!tickets.allows(versionOf(entry))) {
      throw new Refusal(
        "FORBIDDEN",
        `Cannot read ${request.name}: no ticket for this version was shown on this connection`,
      );
    }
    if (this.#file && this.#entry === entry) {
      checkUnchanged(share, entry, this.#file);
      return this.#file;
    }
    this[Symbol.dispose]();
    this.#file = openForRead(share, entry);
    this.#entry = entry;
    return this.#file;
  }

  [Symbol.dispose](): void {
    this.#file?.close();
    this.#file = undefined;
    this.#entry = undefined;
  }
}

function checkRequest(
  share: ShareView,
  request: { name: string; sha256: string; offset: number; length: number },
): IndexedFile {
  const entry = share.lookup(request.name);
  if (!entry) throw new Refusal("NOT_FOUND", `Cannot read ${request.name}: not shared here`);
  if (entry.sha256 !== request.sha256) {
    throw new Refusal("STALE", `Cannot read ${request.name}: this peer shares another version`);
  }
  if (request.offset + request.length > entry.size) {
    throw new Refusal(
      "INVALID",
      `Cannot read ${request.name}: range ends past ${entry.size} bytes`,
    );
  }
  return entry;
}

function checkUnchanged(
  share: ShareView,
  entry: IndexedFile,
  file: Deno.FsFile,
): void {
  const stat = file.statSync();
  if (stat.size !== entry.size || (stat.mtime?.getTime() ?? 0) !== entry.mtimeMs) {
    share.onStale?.(entry.name);
    throw new Refusal("STALE", `Cannot read ${entry.name}: it changed since it was indexed`);
  }
}

function openForRead(
  share: ShareView,
  entry: IndexedFile,
): Deno.FsFile {
  let real: string;
  try {
    real = Deno.realPathSync(entry.path);
  } catch {
    share.onStale?.(entry.name);
    throw new Refusal("STALE", `Cannot read ${entry.name}: the file is gone`);
  }
  if (!isInside(share.root, real)) {
    throw new Refusal("FORBIDDEN", `Cannot read ${entry.name}: it resolves outside the share`);
  }
  const file = Deno.openSync(real, { read: true });
  try {
    checkUnchanged(share, entry, file);
  } catch (error) {
    file.close();
    throw error;
  }
  return file;
}

async function sendRange(
  channel: Channel,
  file: Deno.FsFile,
  range: { offset: number; length: number },
  buffer: Uint8Array,
  options: PeerConnectionOptions,
): Promise<void> {
  // Synchronous reads on purpose: from the page cache a 1 MiB read takes ≈ 90 µs this way against
  // ≈ 210 µs through the async op and its thread hop (measured here).
  file.seekSync(range.offset, Deno.SeekMode.Start);
  let left = range.length;
  while (left > 0) {
    const n = file.readSync(buffer.subarray(0, Math.min(buffer.length, left)));
    if (n === null) throw new Error("file shrank while sending");
    await options.limiter?.take(n, options.signal);
    // A downloader that stops reading what it asked for is cut off after SEND_STALL_MS.
    const stall = setTimeout(() => channel.close(), SEND_STALL_MS);
    try {
      await channel.sendRaw(buffer.subarray(0, n));
    } finally {
      clearTimeout(stall);
    }
    options.onSent?.(n);
    left -= n;
  }
}

/** A running peer listener. */
export interface PeerServer extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * Listens for other peers and serves each connection concurrently.
 *
 * @example
 * ```ts ignore
 * await using server = startPeerServer(share, { hostname: "127.0.0.1", port: 0 });
 * ```
 */
export function startPeerServer(
  share: ShareView,
  options:
    & { hostname?: string; port?: number; tls?: ServerTls }
    & ConnectionLimits
    & { maxUnticketed?: number }
    & Omit<PeerConnectionOptions, "signal" | "unticketed"> = {},
): PeerServer {
  const unticketed = new UnticketedCap(options.maxUnticketed);
  const listener = listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return serveListener(
    listener,
    (conn, signal) => servePeerConnection(conn, share, { ...options, unticketed, signal }),
    options,
  );
}
