/**
 * One tracker client connection: the `hello` handshake, then request after request, each answered
 * in order by the shared request loop ({@link serveRequests}, whose error rule the peers' servers
 * follow too). Bad input from the client ends that request (or, when the framing is lost, that
 * connection) with an `error` reply; it never reaches past this connection.
 *
 * @module
 */
import {
  addressGroup,
  type ByteBudget,
  canonicalAddress,
  Channel,
  type Duplex,
  type GroupCap,
  HANDSHAKE_TIMEOUT_MS,
  parseTrackerRequest,
  PROTOCOL_VERSION,
  serveRequests,
  TRACKER_IDLE_TIMEOUT_MS,
  type TrackerRequest,
  UNAUTHENTICATED_IDLE_TIMEOUT_MS,
} from "../protocol/mod.ts";
import { type RequestContext, TrackerError, type TrackerService } from "./service.ts";
import type { UnauthenticatedSlots } from "./unauthenticated_slots.ts";
import { hashToken } from "./token.ts";

/** The standing read buffer of a tracker connection. */
export const TRACKER_READ_BUFFER_BYTES = 4 * 1024;

/** Limits for one connection. */
export interface ConnectionOptions {
  /** Time allowed for the first message (`hello`). Default 10 s. */
  handshakeTimeoutMs?: number;
  /** A connection silent this long is closed. Default 5 min. */
  idleTimeoutMs?: number;
  /** A connection not logged in and silent this long is closed. Default 10 s. */
  unauthenticatedIdleTimeoutMs?: number;
  /**
   * Slots for connections not logged in yet (no successful `login`, no request with a valid
   * token); when given, this connection holds one until then, and may be evicted for a newer one.
   */
  unauthenticated?: UnauthenticatedSlots;
  /**
   * Logged-in connections per account (`MAX_CONNECTIONS_PER_ACCOUNT`): when given, this
   * connection counts against its account from its first login or valid token; one over the cap
   * gets `BUSY` and stays not logged in.
   */
  accounts?: GroupCap;
  /** Where large frames reserve their bytes; default the process's shared budget. */
  frameBudget?: ByteBudget;
  /** Where to write one-line notes about misbehaving clients. */
  onLog?: (line: string) => void;
  /** This process's number among the tracker's workers, told in `hello`. */
  workerId?: number;
  /** Closes the connection when aborted. */
  signal?: AbortSignal;
}

/**
 * Serves one client until it closes, times out or breaks the framing.
 *
 * @example
 * ```ts ignore
 * for await (const conn of listener) serveTrackerConnection(conn, service);
 * ```
 */
export async function serveTrackerConnection(
  conn: Duplex,
  service: TrackerService,
  options: ConnectionOptions = {},
): Promise<void> {
  // Requests are small (an announce, the large one, is paid from the frame budget): a 4 KiB standing
  // buffer keeps 10,000 idle connections at 40 MB, not 640 MB.
  const channel = new Channel(conn, {
    bufferBytes: TRACKER_READ_BUFFER_BYTES,
    ...(options.frameBudget ? { budget: options.frameBudget } : {}),
  });
  const loggedInIdleMs = options.idleTimeoutMs ?? TRACKER_IDLE_TIMEOUT_MS;
  let idleMs = Math.min(
    loggedInIdleMs,
    options.unauthenticatedIdleTimeoutMs ?? UNAUTHENTICATED_IDLE_TIMEOUT_MS,
  );
  channel.closeAfter(options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  if (options.signal) channel.closeOnAbort(options.signal);
  const remote = (conn as Partial<Deno.Conn>).remoteAddr;
  const group = remote && "hostname" in remote ? addressGroup(remote.hostname) : "";
  const slot = options.unauthenticated?.take(() => channel.close(), group);
  let loggedIn = false;
  let account: string | undefined; // counted in options.accounts
  const context: RequestContext = remote && "hostname" in remote
    ? { address: canonicalAddress(remote.hostname) }
    : {};
  try {
    await serveRequests<TrackerRequest>(channel, {
      side: "tracker",
      parse: parseTrackerRequest,
      hello: (request) => {
        if (request.type === "hello" && request.agent) context.agent = request.agent;
        return {
          type: "hello",
          version: PROTOCOL_VERSION,
          server: "tracker",
          heartbeatMs: service.heartbeatMs,
          ...(options.workerId !== undefined ? { worker: options.workerId } : {}),
        };
      },
      handle: async (request) => {
        const logsIn = !loggedIn && (request.type === "login" || "token" in request);
        // One account, from any number of addresses, holds at most its cap of connections.
        let reserved: string | undefined;
        if (logsIn && options.accounts && account === undefined) {
          const name = request.type === "login"
            ? request.username
            : "token" in request
            ? await service.userOf(hashToken(request.token))
            : null;
          // Names are one account without regard to case (`MALLORY` logs in as `mallory`).
          const user = name?.toLowerCase() ?? null;
          if (user !== null) {
            if (!options.accounts.enter(user)) {
              throw new TrackerError(
                "BUSY",
                `Cannot serve ${user}: ${options.accounts.maxPerGroup} connections of this ` +
                  "account are open; close some, or try again later",
              );
            }
            reserved = user;
          }
        }
        let reply;
        try {
          reply = await service.handle(request, context);
        } catch (error) {
          if (reserved !== undefined) options.accounts?.leave(reserved);
          throw error;
        }
        account ??= reserved;
        if (logsIn) {
          loggedIn = true;
          slot?.release();
          idleMs = loggedInIdleMs;
          channel.closeAfter(idleMs);
        }
        return reply;
      },
      isRefusal: (error): error is TrackerError => error instanceof TrackerError,
      idleMs: () => idleMs,
      ...(options.onLog ? { onLog: options.onLog } : {}),
    });
  } finally {
    slot?.release();
    if (account !== undefined) options.accounts?.leave(account);
    channel.close();
  }
}
