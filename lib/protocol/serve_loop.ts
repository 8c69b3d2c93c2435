/**
 * The one request loop every server runs (the tracker's and each peer's): read a message, check
 * it, answer `hello` first, then each request in order — with one rule for errors:
 *
 * - a refusal (an error with a string `code` that the side names a refusal: `TrackerError`,
 *   `TicketError`, …) and a {@link ProtocolError} become an `error` reply with that code; a
 *   protocol error then ends the connection when {@link endsConnection} says so (framing lost, no
 *   memory, or before `hello`), anything else ends only that request;
 * - any other error is a bug or a broken resource: it is logged and answered `INTERNAL`, and ends
 *   the connection only when the reply had begun streaming (the stream is then out of step);
 * - a closed or reset connection ends the loop quietly.
 *
 * @module
 */
import type { Channel, OutgoingMessage } from "./channel.ts";
import { endsConnection, ProtocolError } from "./errors.ts";
import { checkHandshake } from "./handshake.ts";

/** What a server plugs into {@link serveRequests}. */
export interface RequestLoop<R extends { type: string }> {
  /** Which server this is (`hello` must name it). */
  side: "tracker" | "peer";
  /** Checks one message into a request (throws {@link ProtocolError}). */
  parse(message: unknown): R;
  /** The reply to a valid `hello`. */
  hello(request: R): OutgoingMessage;
  /**
   * Answers one request after `hello`: the reply, or null when the handler sent it itself (a
   * streamed reply, after calling `streaming()`).
   */
  handle(request: R, streaming: () => void): Promise<OutgoingMessage | null>;
  /** Whether `error` is a refusal to send back as `{type: "error", code, message}`. */
  isRefusal(error: unknown): error is Error & { code: string };
  /** Idle limit after each message, in ms (read again each time: it may change on login). */
  idleMs(): number;
  /** One-line notes about misbehaving clients and internal errors. */
  onLog?: (line: string) => void;
}

/**
 * Serves requests on `channel` until it closes, times out or must end; never throws.
 *
 * @example
 * ```ts ignore
 * await serveRequests(channel, { side: "peer", parse: parsePeerRequest, hello, handle, ... });
 * ```
 */
export async function serveRequests<R extends { type: string }>(
  channel: Channel,
  loop: RequestLoop<R>,
): Promise<void> {
  const log = loop.onLog ?? (() => {});
  let greeted = false;
  try {
    while (!channel.closed) {
      let reply: OutgoingMessage | null;
      let streamed = false;
      try {
        const message = await channel.receive();
        if (message === null) break;
        channel.closeAfter(loop.idleMs());
        const request = loop.parse(message);
        if (checkHandshake(request, greeted, loop.side)) {
          greeted = true;
          reply = loop.hello(request);
        } else {
          reply = await loop.handle(request, () => streamed = true);
        }
      } catch (error) {
        if (channel.closed) break;
        if (error instanceof ProtocolError || loop.isRefusal(error)) {
          await channel.send({ type: "error", code: error.code, message: error.message });
          if (error instanceof ProtocolError) {
            log(`client error: ${error.message}`);
            if (endsConnection(error, greeted)) break;
          }
          continue;
        }
        if (
          error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset
        ) {
          break;
        }
        log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
        if (streamed) break; // part of a reply went out: the stream is out of step
        await channel.send({
          type: "error",
          code: "INTERNAL",
          message: "Cannot handle request: internal error",
        });
        continue;
      }
      if (reply !== null) await channel.send(reply);
    }
  } catch (error) {
    if (!channel.closed) log(`connection ended: ${error instanceof Error ? error.message : error}`);
  }
}
