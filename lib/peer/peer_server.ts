/**
 * Serving other peers: `hello`, `ping`, `ticket`, and `read` of byte ranges of announced files.
 * A `read` is served only for a version a valid ticket from the tracker opened on this connection
 * (see `read_grants.ts`); a connection that shows none within `TICKET_WINDOW_MS` is closed. At
 * most `MAX_UNTICKETED_CONNECTIONS` such connections (`MAX_UNTICKETED_PER_ADDRESS` from one
 * address) get that long; the others are still served `hello` and `ping`, so a flood never makes
 * this peer look gone, but have `OVERFLOW_TICKET_WINDOW_MS` to show a ticket. Connections with a
 * ticket count per member (`MAX_PEER_CONNECTIONS_PER_MEMBER`), and a `read` waits for one of the
 * upload slots (`upload_slots.ts`). This module dispatches each request and sends the bytes; what
 * a `read` is served from, and the checks that refuse a changed file with `STALE`, are
 * `share_reader.ts`; the answers to `have` and super-seeding are `have_replies.ts`.
 *
 * @module
 */
import {
  addressGroup,
  Channel,
  type ConnectionLimits,
  type Duplex,
  HANDSHAKE_TIMEOUT_MS,
  listen,
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
import { Refusal } from "./_refusal.ts";
import { HaveReplies, SeedLedger } from "./have_replies.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { ConnectionTickets, MemberCap, UnticketedCap } from "./read_grants.ts";
import { ShareReader, type ShareView } from "./share_reader.ts";
import { UploadSlots } from "./upload_slots.ts";

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
  using shared = new ShareReader(share); // the read path (see share_reader.ts)
  const haves = new HaveReplies(share, tickets, options.ledger); // see have_replies.ts
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
        if (request.type === "have") return await haves.answer(request, options.signal);
        if (request.type === "hello") return null; // answered by the loop
        if (!tickets.any) {
          throw new Refusal(
            "FORBIDDEN",
            `Cannot read ${request.name}: show a ticket from the tracker's details first`,
          );
        }
        const source = shared.source(request, tickets);
        if (options.slots && !options.slots.admit(reader)) {
          throw new Refusal(
            "BUSY",
            `Cannot send ${request.name} now: every upload slot is taken; ask again shortly`,
          );
        }
        channel.closeAfter(null); // a long send is not idleness (SEND_STALL_MS guards it)
        const admitted = options.slots !== undefined;
        try {
          haves.noteSent(source, request);
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

/** Sends `range` of a read source as raw bytes, paced by the limiter, guarded by SEND_STALL_MS. */
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
