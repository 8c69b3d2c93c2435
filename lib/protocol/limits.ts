/**
 * Every limit a tracker or peer enforces on the wire, by name, with its default. Operators can
 * override the connection limits and timeouts with flags (`--max-connections`,
 * `--max-per-address`, `--handshake-timeout-ms`, `--idle-timeout-ms`); each limit, when crossed,
 * gets a clear error reply or closes that one connection, never more.
 *
 * | limit | default | crossing it |
 * |---|---|---|
 * | {@link MAX_FRAME_BYTES} (frame.ts) | 1 MiB | `FRAME_TOO_LARGE`, connection closed |
 * | {@link HANDSHAKE_TIMEOUT_MS} | 10 s | connection closed (slow-loris, silent clients) |
 * | {@link TRACKER_IDLE_TIMEOUT_MS} | 5 min | connection closed |
 * | {@link PEER_IDLE_TIMEOUT_MS} | 2 min | connection closed |
 * | {@link MAX_CONNECTIONS} | 1024 | `BUSY` reply, connection closed |
 * | {@link MAX_CONNECTIONS_PER_ADDRESS} | 256 | `BUSY` reply, connection closed |
 * | {@link MAX_FILES_PER_ANNOUNCE} (messages.ts) | 1000 | `BAD_MESSAGE` reply |
 * | {@link SEND_STALL_MS} | 30 s | a peer that stops reading what it asked for is cut off |
 * | {@link TICKET_TTL_MS} | 10 min | the ticket opens no new connection (`FORBIDDEN`) |
 * | {@link TICKET_WINDOW_MS} | 10 s | a peer connection that showed no valid ticket is closed |
 * | {@link MAX_UNTICKETED_CONNECTIONS} | 64 | `BUSY` reply, connection closed |
 * | {@link MAX_TICKETS_PER_CONNECTION} | 64 | the oldest ticket shown on the connection is forgotten |
 * | {@link MAX_TICKET_CHARS} (messages.ts) | 512 | `BAD_MESSAGE` reply |
 *
 * A peer answers the requests on one connection in order and reads the next only after
 * answering, so at most one request per connection is being served; any others wait in the
 * socket's buffer, which TCP bounds.
 *
 * @module
 */
export { MAX_FRAME_BYTES } from "./frame.ts";
export { MAX_FILES_PER_ANNOUNCE, MAX_TICKET_CHARS } from "./messages.ts";

/** Time allowed between connecting and the first complete message (`hello`). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** A tracker connection silent this long is closed. */
export const TRACKER_IDLE_TIMEOUT_MS = 300_000;

/** A peer connection silent this long is closed. */
export const PEER_IDLE_TIMEOUT_MS = 120_000;

/** Most connections a tracker or peer serves at once. */
export const MAX_CONNECTIONS = 1024;

/** Most connections served at once from one remote address. */
export const MAX_CONNECTIONS_PER_ADDRESS = 256;

/** A send that makes no progress for this long (the other side stopped reading) is abandoned. */
export const SEND_STALL_MS = 30_000;

/** How long a read ticket from `details` opens new peer connections (open ones stay open). */
export const TICKET_TTL_MS = 600_000;

/** Time a peer connection has to show a valid ticket before it is closed (`ping` needs none). */
export const TICKET_WINDOW_MS = 10_000;

/** Most connections a peer serves at once that have not shown a valid ticket. */
export const MAX_UNTICKETED_CONNECTIONS = 64;

/** Most versions one peer connection keeps tickets for; the oldest is forgotten first. */
export const MAX_TICKETS_PER_CONNECTION = 64;
