/**
 * Serving other peers: `hello`, `ping`, `ticket`, and `read` of byte ranges of announced files.
 * A `read` is served only for a version a valid ticket from the tracker opened on this connection
 * (see `read_grants.ts`); a connection that shows none within `TICKET_WINDOW_MS` is closed. At
 * most `MAX_UNTICKETED_CONNECTIONS` such connections (`MAX_UNTICKETED_PER_ADDRESS` from one
 * address) get that long; the others are still served `hello` and `ping`, so a flood never makes
 * this peer look gone, but have `OVERFLOW_TICKET_WINDOW_MS` to show a ticket. Connections with a
 * ticket count per member (`MAX_PEER_CONNECTIONS_PER_MEMBER`). Only files in the
 * share index are served, by their relative name; before each read the path is resolved again and
 * must still lie inside the shared folder and match the indexed size and mtime, so a swapped
 * symlink or a file changed since indexing is refused rather than served.
 *
 * @module
 */
import {
  addressGroup,
  Channel,
  type ConnectionLimits,
  type Duplex,
  encodeHaveMap,
  HANDSHAKE_TIMEOUT_MS,
  HAVE_WAIT_MS,
  listen,
  type OutgoingMessage,
  OVERFLOW_TICKET_WINDOW_MS,
  parsePeerRequest,
  PEER_IDLE_TIMEOUT_MS,
  PROTOCOL_VERSION,
  SEND_STALL_MS,
  serveListener,
  serveRequests,
  type ServerTls,
  TICKET_WINDOW_MS,
  TicketError,
} from "../protocol/mod.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { ConnectionTickets, MemberCap, UnticketedCap, versionOf } from "./read_grants.ts";
import type { IndexedFile } from "./share_index.ts";
import { isInside } from "./share_index.ts";
import { UploadSlots } from "./upload_slots.ts";
import {
  rangeVerified,
  seedHave,
  SeedLedger,
  SeedView,
  type SwarmFile,
  type SwarmFiles,
} from "./swarm_files.ts";

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
  /** A file this peer is downloading (or just downloaded) and serves from what it has verified. */
  partial?(name: string): SwarmFile | undefined;
  /** Where those files live, to wait for more of their chunks (`have` with `wait`). */
  readonly swarm?: SwarmFiles;
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
  /** Counts connections without a ticket against the server's caps (none: no cap). */
  unticketed?: UnticketedCap;
  /** Time to show a ticket for a connection over the unticketed caps. Default 2 s. */
  overflowTicketWindowMs?: number;
  /** Counts connections with a ticket per member against the server's cap (none: no cap). */
  members?: MemberCap;
  /** Chunks sent per version, shared by the server's connections, for super-seeding. */
  ledger?: SeedLedger;
  /** The server's upload slots (see `upload_slots.ts`); none: every downloader at once. */
  slots?: UploadSlots;
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
  const remote = (conn as Partial<Deno.Conn>).remoteAddr;
  const group = remote && "hostname" in remote ? addressGroup(remote.hostname) : "";
  const cap = options.unticketed;
  // Over the unticketed caps a connection is still served (`hello` and `ping` need no ticket,
  // so a flood cannot make a seed look gone), but it must show a ticket soon.
  let counted = cap?.enter(group) ?? false;
  const overflow = cap !== undefined && !counted;
  const tickets = new ConnectionTickets();
  const window = setTimeout(
    () => {
      if (!tickets.any) channel.close();
    },
    overflow
      ? Math.min(
        options.overflowTicketWindowMs ?? OVERFLOW_TICKET_WINDOW_MS,
        options.ticketWindowMs ?? Infinity,
      )
      : options.ticketWindowMs ?? TICKET_WINDOW_MS,
  );
  let member = ""; // the account this connection counts against in the member cap
  const idleMs = options.idleTimeoutMs ?? PEER_IDLE_TIMEOUT_MS;
  channel.closeAfter(options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  if (options.signal) channel.closeOnAbort(options.signal);
  let reader = ""; // the account the last valid ticket was issued to
  using open = new OpenFile();
  const sentHere = new Map<string, SeedView>(); // per version: what super-seeding told this one
  const told = new Map<string, number>(); // per version: chunks the last `have` reply counted
  let sendBuffer: Uint8Array | undefined; // made on the first read: idle connections hold none
  try {
    // The one request loop and error rule of every server (lib/protocol/serve_loop.ts).
    await serveRequests(channel, {
      side: "peer",
      parse: (message) => parsePeerRequest(message as Record<string, unknown>),
      hello: () => ({
        type: "hello",
        version: PROTOCOL_VERSION,
        server: "peer",
        user: share.user,
        challenge: tickets.challenge,
      }),
      isRefusal: (error): error is Error & { code: string } =>
        error instanceof Refusal || error instanceof TicketError,
      idleMs: () => idleMs,
      async handle(request, streaming) {
        if (request.type === "ping") return { type: "pong", nonce: request.nonce };
        if (request.type === "ticket") {
          const trackerKey = share.trackerKey?.();
          if (!trackerKey) {
            throw new Refusal(
              "FORBIDDEN",
              "Cannot accept ticket: this peer has no tracker key yet (it has not logged in)",
            );
          }
          reader = (await tickets.show(request.ticket, request.proof, trackerKey)).user;
          if (member === "" && options.members) {
            if (!options.members.enter(reader)) {
              // One account with many addresses cannot take every connection of this peer.
              await channel.send({
                type: "error",
                code: "BUSY",
                message: `Cannot accept ticket: ${options.members.max} connections of ${reader} ` +
                  "are open; try again later",
              }).catch(() => {});
              channel.close();
              return null;
            }
            member = reader;
          }
          if (counted) {
            cap?.leave(group);
            counted = false;
          }
          return { type: "ok" };
        }
        if (request.type === "have") {
          if (request.wait) await waitForMore(share, request, told, options.signal);
          const reply = answerHave(share, request, tickets, sentHere, options.ledger);
          told.set(request.id, countHave(share, request));
          return reply;
        }
        if (request.type === "hello") return null; // answered by the loop
        if (!tickets.any) {
          throw new Refusal(
            "FORBIDDEN",
            `Cannot read ${request.name}: show a ticket from the tracker's details first`,
          );
        }
        const source = open.get(share, request, tickets);
        if (options.slots && !options.slots.admit(reader)) {
          throw new Refusal(
            "BUSY",
            `Cannot send ${request.name} now: every upload slot is taken; ask again shortly`,
          );
        }
        channel.closeAfter(null); // a long send is not idleness (SEND_STALL_MS guards it)
        const admitted = options.slots !== undefined;
        try {
          noteSent(source, request, sentHere, options.ledger);
          streaming(); // from here an error leaves the stream out of step: the loop hangs up
          await channel.send({ type: "data", offset: request.offset, length: request.length });
          sendBuffer ??= new Uint8Array(SEND_BYTES);
          await sendRange(channel, source.readAt, request, sendBuffer, options);
        } finally {
          if (admitted) options.slots!.done(reader);
          channel.closeAfter(idleMs);
        }
        return null;
      },
    });
  } finally {
    clearTimeout(window);
    if (reader !== "") options.slots?.leave(reader);
    if (counted) cap?.leave(group);
    if (member !== "") options.members?.leave(member);
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
  ): ReadSource {
    const partial = share.partial?.(request.name);
    const indexed = share.lookup(request.name);
    if (partial && partial.sha256 === request.sha256 && indexed?.sha256 !== request.sha256) {
      if (!tickets.allows(partial.id)) {
        throw new Refusal(
          "FORBIDDEN",
          `Cannot read ${request.name}: no ticket for this version was shown on this connection`,
        );
      }
      if (!rangeVerified(partial, request.offset, request.length)) {
        throw new Refusal(
          "NOT_FOUND",
          `Cannot read ${request.name}: this peer has not verified that range yet`,
        );
      }
      return {
        id: partial.id,
        chunkSize: partial.chunkSize,
        size: partial.size,
        readAt: partial.readAt,
      };
    }
    const file = this.#indexed(share, request, tickets);
    const entry = this.#entry!;
    return {
      id: versionOf(entry),
      chunkSize: entry.chunkSize,
      size: entry.size,
      readAt: (buffer, position) => {
        file.seekSync(position, Deno.SeekMode.Start);
        return file.readSync(buffer);
      },
    };
  }

  #indexed(
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
  if (!entry) throw new Refusal("GONE", `Cannot read ${request.name}: not shared here`);
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

/** What a `read` is served from: an indexed file or one being downloaded. */
interface ReadSource {
  id: string;
  chunkSize: number;
  size: number;
  readAt(buffer: Uint8Array, position: number): number | null;
}

/** Answers `have`: the verified chunks of a partial file, or a complete file's super-seeding map. */
function answerHave(
  share: ShareView,
  request: { name: string; id: string },
  tickets: ConnectionTickets,
  sentHere: Map<string, SeedView>,
  ledger: SeedLedger | undefined,
): OutgoingMessage {
  if (!tickets.allows(request.id)) {
    throw new Refusal(
      "FORBIDDEN",
      `Cannot tell chunks of ${request.name}: no ticket for this version was shown on this connection`,
    );
  }
  const partial = share.partial?.(request.name);
  const entry = share.lookup(request.name);
  if (entry && versionOf(entry) === request.id) {
    const chunks = entry.chunkHashes.length;
    if (!ledger) {
      return {
        type: "have",
        id: request.id,
        bits: encodeHaveMap(new Uint8Array(chunks).fill(1)),
        complete: true,
      };
    }
    const { have, complete } = seedHave(ledger, request.id, viewOf(sentHere, request.id, chunks));
    return { type: "have", id: request.id, bits: encodeHaveMap(have), complete };
  }
  if (partial && partial.id === request.id) {
    const complete = partial.have.every((b) => b === 1);
    return { type: "have", id: request.id, bits: encodeHaveMap(partial.have), complete };
  }
  throw new Refusal("GONE", `Cannot tell chunks of ${request.name}: not shared here`);
}

/** The super-seeding view of version `id` on one connection (the last 16 versions kept). */
function viewOf(views: Map<string, SeedView>, id: string, chunks: number): SeedView {
  let view = views.get(id);
  if (!view || view.sentHere.length !== chunks) {
    if (views.size >= 16) views.delete(views.keys().next().value!);
    views.set(id, view = new SeedView(chunks));
  }
  return view;
}

/** Chunks of a partial file verified so far (-1 for any other file). */
function countHave(share: ShareView, request: { name: string; id: string }): number {
  const partial = share.partial?.(request.name);
  if (!partial || partial.id !== request.id) return -1;
  let count = 0;
  for (const b of partial.have) count += b;
  return count;
}

/** Holds a `have` with `wait` until a partial file has more than last told, or `HAVE_WAIT_MS`. */
async function waitForMore(
  share: ShareView,
  request: { name: string; id: string },
  told: Map<string, number>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const before = told.get(request.id);
  const files = share.swarm;
  if (before === undefined || !files) return;
  const deadline = Date.now() + HAVE_WAIT_MS;
  while (countHave(share, request) === before && countHave(share, request) >= 0) {
    const left = deadline - Date.now();
    if (left <= 0 || signal?.aborted) return;
    await files.waitForMore(request.name, left, signal);
  }
}

/** Records the chunks a `read` sends, on this connection and in the seeding ledger. */
function noteSent(
  source: ReadSource,
  range: { offset: number; length: number },
  sentHere: Map<string, SeedView>,
  ledger: SeedLedger | undefined,
): void {
  if (range.length === 0) return;
  const chunks = Math.max(1, Math.ceil(source.size / source.chunkSize));
  const view = viewOf(sentHere, source.id, chunks);
  const first = Math.floor(range.offset / source.chunkSize);
  const last = Math.floor((range.offset + range.length - 1) / source.chunkSize);
  for (let i = first; i <= last && i < chunks; i++) {
    if (view.sent(i)) ledger?.sent(source.id, chunks, i);
  }
}

async function sendRange(
  channel: Channel,
  readAt: (buffer: Uint8Array, position: number) => number | null,
  range: { offset: number; length: number },
  buffer: Uint8Array,
  options: PeerConnectionOptions,
): Promise<void> {
  // Synchronous reads on purpose: from the page cache a 1 MiB read takes ≈ 90 µs this way against
  // ≈ 210 µs through the async op and its thread hop (measured here). Each read seeks first: a
  // file being downloaded is written through the same handle between our awaits.
  let position = range.offset;
  let left = range.length;
  while (left > 0) {
    const n = readAt(buffer.subarray(0, Math.min(buffer.length, left)), position);
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
    position += n;
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
    & { maxUnticketed?: number; uploadSlots?: number; credit?: (user: string) => number }
    & Omit<PeerConnectionOptions, "signal" | "unticketed" | "members" | "ledger" | "slots"> = {},
): PeerServer {
  const unticketed = new UnticketedCap(options.maxUnticketed);
  const members = new MemberCap();
  const ledger = new SeedLedger();
  const slots = options.uploadSlots === 0 ? undefined : new UploadSlots({
    ...(options.uploadSlots ? { max: options.uploadSlots } : {}),
    ...(options.credit ? { credit: options.credit } : {}),
  });
  const listener = listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return serveListener(
    listener,
    (conn, signal) =>
      servePeerConnection(conn, share, {
        ...options,
        unticketed,
        members,
        ledger,
        ...(slots ? { slots } : {}),
        signal,
      }),
    options,
  );
}
