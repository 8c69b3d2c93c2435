/**
 * Every limit a tracker or peer enforces on the wire, by name, with its default. Operators can
 * override the connection limits and timeouts with flags (`--max-connections`,
 * `--max-per-address`, `--max-unauthenticated`, `--max-http-connections`, `--frame-budget-bytes`,
 * `--handshake-timeout-ms`, `--idle-timeout-ms`); each limit, when crossed,
 * gets a clear error reply or closes that one connection, never more.
 *
 * | limit | default | crossing it |
 * |---|---|---|
 * | {@link MAX_FRAME_BYTES} (frame.ts) | 1 MiB | `FRAME_TOO_LARGE`, connection closed |
 * | {@link HANDSHAKE_TIMEOUT_MS} | 10 s | connection closed (slow-loris, silent clients) |
 * | {@link TRACKER_IDLE_TIMEOUT_MS} | 5 min | connection closed |
 * | {@link PEER_IDLE_TIMEOUT_MS} | 2 min | connection closed |
 * | {@link MAX_CONNECTIONS} | 1024 | `BUSY` reply, connection closed |
 * | {@link MAX_CONNECTIONS_PER_ADDRESS} | 64 (tracker, dashboard and peer ports) | `BUSY` reply (HTTP 503 on the dashboard), connection closed |
 * | {@link MAX_UNAUTHENTICATED_CONNECTIONS} (tracker) | 128 | the oldest connection not yet logged in, of the address holding the most, is closed to make room |
 * | {@link MAX_CONNECTIONS_PER_ACCOUNT} (tracker) | 32 | `BUSY` reply to the login or first token request; the connection stays not logged in |
 * | {@link UNAUTHENTICATED_IDLE_TIMEOUT_MS} (tracker) | 10 s | a connection not yet logged in is closed |
 * | {@link MAX_HTTP_CONNECTIONS} (dashboard) | 256 | HTTP 503, connection closed |
 * | {@link MAX_HTTP_CONNECTIONS_PER_ADDRESS} (dashboard) | 32 | HTTP 503, connection closed |
 * | {@link HTTP_HEADER_TIMEOUT_MS} (dashboard) | 5 s | connection closed (slow-loris) |
 * | {@link MAX_HTTP_WAITING_FOR_HEADERS} (dashboard) | 64 | the oldest connection still sending headers is closed to make room |
 * | {@link MAX_EVENT_STREAMS} (dashboard) | 64 | HTTP 503 for `/api/events` |
 * | open-file limit (open_files.ts) | read at start | connection caps are lowered to fit under it, less {@link OPEN_FILES_RESERVE} |
 * | {@link FRAME_BUDGET_BYTES} (byte_budget.ts) | 64 MiB per process | a frame above 64 KiB waits up to {@link FRAME_BUDGET_WAIT_MS} (5 s) for budget, then `BUSY`, connection closed |
 * | {@link MAX_FILES_PER_ANNOUNCE} (messages.ts) | 1000 | `BAD_MESSAGE` reply |
 * | {@link SEND_STALL_MS} | 30 s | a peer that stops reading what it asked for is cut off |
 * | {@link TICKET_TTL_MS} | 10 min | the ticket opens no new connection (`FORBIDDEN`) |
 * | {@link TICKET_WINDOW_MS} | 10 s | a peer connection that showed no valid ticket is closed |
 * | {@link MAX_UNTICKETED_CONNECTIONS} | 64 | over it: `hello` and `ping` answered, a ticket within {@link OVERFLOW_TICKET_WINDOW_MS} or closed |
 * | {@link MAX_UNTICKETED_PER_ADDRESS} | 8 | as above, for one address (an IPv6 /64 counts as one) |
 * | {@link OVERFLOW_TICKET_WINDOW_MS} | 2 s | a connection over the unticketed caps without a valid ticket is closed |
 * | {@link MAX_PEER_CONNECTIONS_PER_MEMBER} | 16 | a ticket of a member holding that many gets `BUSY`, connection closed |
 * | {@link MAX_TICKETS_PER_CONNECTION} | 64 | the oldest ticket shown on the connection is forgotten |
 * | {@link MAX_TICKET_CHARS} (messages.ts) | 512 | `BAD_MESSAGE` reply |
 *
 * A failed accept (for example `Too many open files`) never ends an accept loop: it pauses (5 ms,
 * doubling to 1 s) and goes on. Frames up to 64 KiB use each connection's standing buffer; a
 * larger frame reserves its size from the process's {@link FRAME_BUDGET_BYTES} while it arrives,
 * so 1,000 connections that each announce 1 MiB hold at most the budget, not 1 GiB. Waiting
 * rather than refusing at once lets honest bursts through; the wait is short so a stalled sender
 * cannot queue others for long, and an unfinished frame is still cut off by the idle timeouts.
 *
 * A peer answers the requests on one connection in order and reads the next only after
 * answering, so at most one request per connection is being served; any others wait in the
 * socket's buffer, which TCP bounds.
 *
 * @module
 */
export { FRAME_BUDGET_BYTES, FRAME_BUDGET_WAIT_MS } from "./byte_budget.ts";
export { MAX_FRAME_BYTES } from "./frame.ts";
export { OPEN_FILES_RESERVE } from "./open_files.ts";
export { MAX_FILES_PER_ANNOUNCE, MAX_TICKET_CHARS } from "./messages.ts";

/** Time allowed between connecting and the first complete message (`hello`). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** A tracker connection silent this long is closed. */
export const TRACKER_IDLE_TIMEOUT_MS = 300_000;

/** A peer connection silent this long is closed. */
export const PEER_IDLE_TIMEOUT_MS = 120_000;

/** Most connections a tracker or peer serves at once. */
export const MAX_CONNECTIONS = 1024;

/**
 * Most connections served at once from one remote address: low enough that one host cannot
 * take every slot.
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 64;

/**
 * Most tracker connections at once that have not logged in yet (no successful `login`, no request
 * with a valid token). When full, a new connection closes the oldest such one of the address
 * holding the most.
 */
export const MAX_UNAUTHENTICATED_CONNECTIONS = 128;

/**
 * Most logged-in tracker connections of one account at once, from any number of addresses (per
 * tracker process): one account cannot take every connection.
 */
export const MAX_CONNECTIONS_PER_ACCOUNT = 32;

/** A tracker connection that has not logged in and is silent this long is closed. */
export const UNAUTHENTICATED_IDLE_TIMEOUT_MS = 10_000;

/** Most dashboard (HTTP) connections at once; per address, {@link MAX_CONNECTIONS_PER_ADDRESS}. */
export const MAX_HTTP_CONNECTIONS = 256;

/**
 * Most dashboard connections at once from one address (an IPv6 /64 counts as one); below the
 * protocol ports' {@link MAX_CONNECTIONS_PER_ADDRESS}, since a browser needs about six.
 */
export const MAX_HTTP_CONNECTIONS_PER_ADDRESS = 32;

/**
 * Time a dashboard connection has to send a request's complete headers: from its accept, and
 * again from the end of each response (an idle kept-alive connection waits for headers too).
 */
export const HTTP_HEADER_TIMEOUT_MS = 5_000;

/**
 * Most dashboard connections at once that are waiting for request headers (new, or idle between
 * requests). When full, a new connection closes the oldest such one: slow senders cannot keep an
 * honest request out.
 */
export const MAX_HTTP_WAITING_FOR_HEADERS = 64;

/** Most dashboard event streams (`/api/events`) open at once. */
export const MAX_EVENT_STREAMS = 64;

/** A send that makes no progress for this long (the other side stopped reading) is abandoned. */
export const SEND_STALL_MS = 30_000;

/** How long a read ticket from `details` opens new peer connections (open ones stay open). */
export const TICKET_TTL_MS = 600_000;

/** Time a peer connection has to show a valid ticket before it is closed (`ping` needs none). */
export const TICKET_WINDOW_MS = 10_000;

/**
 * Most connections a peer serves at once that have not shown a valid ticket, with the full
 * {@link TICKET_WINDOW_MS} to show one. Connections over it (or over
 * {@link MAX_UNTICKETED_PER_ADDRESS}) are not refused: `hello` and `ping` are answered, and they
 * get {@link OVERFLOW_TICKET_WINDOW_MS} to show a ticket.
 */
export const MAX_UNTICKETED_CONNECTIONS = 64;

/** Of {@link MAX_UNTICKETED_CONNECTIONS}, most from one address (an IPv6 /64 counts as one). */
export const MAX_UNTICKETED_PER_ADDRESS = 8;

/** Time a peer connection over the unticketed caps has to show a valid ticket. */
export const OVERFLOW_TICKET_WINDOW_MS = 2_000;

/**
 * Most connections a peer serves at once that showed a ticket of one member (the account it
 * names), from any number of addresses; above {@link MAX_UNTICKETED_PER_ADDRESS}, so showing a
 * ticket never lowers what one downloader may hold.
 */
export const MAX_PEER_CONNECTIONS_PER_MEMBER = 16;

/** Most versions one peer connection keeps tickets for; the oldest is forgotten first. */
export const MAX_TICKETS_PER_CONNECTION = 64;

/** How long a kept session (`login` with `remember`: `p2pfs-peer login`) lives: 30 days. */
export const STORED_SESSION_TTL_MS = 30 * 24 * 3600_000;
