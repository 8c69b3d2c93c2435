/**
 * One tracker client connection: the `hello` handshake, then request after request, each answered
 * in order. Bad input from the client ends that request (or, when the framing is lost, that
 * connection) with an `error` reply; it never reaches past this connection.
 *
 * @module
 */
import {
  type ByteBudget,
  canonicalAddress,
  Channel,
  checkHandshake,
  type Duplex,
  endsConnection,
  HANDSHAKE_TIMEOUT_MS,
  type OutgoingMessage,
  parseTrackerRequest,
  PROTOCOL_VERSION,
  ProtocolError,
  TRACKER_IDLE_TIMEOUT_MS,
  UNAUTHENTICATED_IDLE_TIMEOUT_MS,
} from "../protocol/mod.ts";
import { type RequestContext, TrackerError, type TrackerService } from "./service.ts";
import type { UnauthenticatedSlots } from "./unauthenticated_slots.ts";

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
  /** Where large frames reserve their bytes; default the process's shared budget. */
  frameBudget?: ByteBudget;
  /** Where to write one-line notes about misbehaving clients. */
  onLog?: (line: string) => void;
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
  const channel = new Channel(conn, options.frameBudget ? { budget: options.frameBudget } : {});
  const log = options.onLog ?? (() => {});
  const loggedInIdleMs = options.idleTimeoutMs ?? TRACKER_IDLE_TIMEOUT_MS;
  let idleMs = Math.min(
    loggedInIdleMs,
    options.unauthenticatedIdleTimeoutMs ?? UNAUTHENTICATED_IDLE_TIMEOUT_MS,
  );
  channel.closeAfter(options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  if (options.signal) channel.closeOnAbort(options.signal);
  const slot = options.unauthenticated?.take(() => channel.close());
  let loggedIn = false;
  let greeted = false;
  const remote = (conn as Partial<Deno.Conn>).remoteAddr;
  const context: RequestContext = remote && "hostname" in remote
    ? { address: canonicalAddress(remote.hostname) }
    : {};
  try {
    while (!channel.closed) {
      let reply: OutgoingMessage;
      try {
        const message = await channel.receive();
        if (message === null) break;
        channel.closeAfter(idleMs);
        const request = parseTrackerRequest(message);
        if (checkHandshake(request, greeted, "tracker")) {
          greeted = true;
          if (request.agent) context.agent = request.agent;
          reply = {
            type: "hello",
            version: PROTOCOL_VERSION,
            server: "tracker",
            heartbeatMs: service.heartbeatMs,
          };
        } else {
          reply = await service.handle(request, context);
          if (!loggedIn && (request.type === "login" || "token" in request)) {
            loggedIn = true;
            slot?.release();
            idleMs = loggedInIdleMs;
            channel.closeAfter(idleMs);
          }
        }
      } catch (error) {
        if (channel.closed) break;
        if (error instanceof ProtocolError || error instanceof TrackerError) {
          await channel.send({ type: "error", code: error.code, message: error.message });
          if (error instanceof ProtocolError) log(`client error: ${error.message}`);
          if (error instanceof ProtocolError && endsConnection(error, greeted)) break;
          continue;
        }
        if (
          error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset
        ) {
          break;
        }
        log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
        await channel.send({
          type: "error",
          code: "INTERNAL",
          message: "Cannot handle request: internal error",
        });
        continue;
      }
      await channel.send(reply);
    }
  } catch (error) {
    if (!channel.closed) log(`connection ended: ${error instanceof Error ? error.message : error}`);
  } finally {
    slot?.release();
    channel.close();
  }
}
