/**
 * Every limit a tracker or peer enforces on what the other side sends or asks (sizes, caps,
 * deadlines, rates, back-offs, policy), by name, with its default: each is defined here, and the
 * modules that enforce it import it from here. What stays in a module is its own working (flush
 * and poll intervals, the bound of an internal table), not a limit anyone can run into. Operators can
 * override the connection limits and timeouts with flags (`--max-connections`,
 * `--max-per-address`, `--max-unauthenticated`, `--max-http-connections`, `--frame-budget-bytes`,
 * `--handshake-timeout-ms`, `--idle-timeout-ms`); each limit, when crossed,
 * gets a clear error reply or closes that one connection, never more.
 *
 * | limit | default | crossing it |
 * |---|---|---|
 * | {@link MAX_FRAME_BYTES} | 1 MiB | `FRAME_TOO_LARGE`, connection closed |
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
 * | open-file limit (open_files.ts) | read at start | connection caps are lowered to fit under it, less {@link OPEN_FILES_RESERVE} (64) |
 * | {@link FRAME_BUDGET_BYTES} | 64 MiB per process | a frame above 64 KiB waits up to {@link FRAME_BUDGET_WAIT_MS} (5 s) for budget, then `BUSY`, connection closed |
 * | {@link MAX_FILES_PER_ANNOUNCE} | 1000 | `BAD_MESSAGE` reply |
 * | {@link MAX_CHUNKS_PER_FILE} | 8192 | `BAD_MESSAGE` reply (the indexer grows the chunk size to stay under it) |
 * | {@link MIN_CHUNK_SIZE}, {@link MAX_CHUNK_SIZE} | 64 KiB, 16 MiB | the manifest is refused (`BAD_MESSAGE`) |
 * | {@link MAX_FILE_BYTES} | 128 GiB | the manifest is refused (`BAD_MESSAGE`) |
 * | {@link MAX_HAVE_MAP_CHARS} | 1368 | `BAD_MESSAGE` reply; a have-map of another length than its chunk count is refused too |
 * | {@link HAVE_WAIT_MS} | 2 s | a `have` with `wait` is answered with what there is |
 * | {@link MAX_PAGE_ENTRIES} | 5000 | a `list` page ends (with `next`); a larger `limit` is `BAD_MESSAGE` |
 * | {@link MAX_PAGE_BYTES} | 256 KiB | a `list` or `holders` page ends (with `next`) |
 * | {@link MAX_VERSIONS_LISTED} | 100 | `details` lists only the preferred versions |
 * | {@link MAX_HOST_LENGTH} | 253 | `BAD_MESSAGE` reply |
 * | {@link MIN_PASSWORD_LENGTH} | 8 | `INVALID` reply to `register` or `passwd` |
 * | {@link SEND_STALL_MS} | 30 s | a peer that stops reading what it asked for is cut off |
 * | {@link TICKET_TTL_MS} | 10 min | the ticket opens no new connection (`FORBIDDEN`) |
 * | {@link TICKET_WINDOW_MS} | 10 s | a peer connection that showed no valid ticket is closed |
 * | {@link MAX_UNTICKETED_CONNECTIONS} | 64 | over it: `hello` and `ping` answered, a ticket within {@link OVERFLOW_TICKET_WINDOW_MS} or closed |
 * | {@link MAX_UNTICKETED_PER_ADDRESS} | 8 | as above, for one address (an IPv6 /64 counts as one) |
 * | {@link OVERFLOW_TICKET_WINDOW_MS} | 2 s | a connection over the unticketed caps without a valid ticket is closed |
 * | {@link MAX_PEER_CONNECTIONS_PER_MEMBER} | 16 | a ticket of a member holding that many gets `BUSY`, connection closed |
 * | {@link MAX_TICKETS_PER_CONNECTION} | 64 | the oldest ticket shown on the connection is forgotten |
 * | {@link MAX_TICKET_CHARS} | 512 | `BAD_MESSAGE` reply |
 * | {@link MAX_INVITE_USES}, {@link MAX_INVITE_EXPIRY_MS} | 10,000 uses, a year | `BAD_MESSAGE` reply to `admin invite` |
 * | {@link LOGIN_FREE_FAILURES} (tracker) | 5 per user name and address | further logins of that name from that address wait, doubling up to {@link LOGIN_MAX_DELAY_MS} (5 min); failures are forgotten after {@link LOGIN_FAILURE_WINDOW_MS} (1 h) |
 * | {@link LOGIN_FREE_FAILURES_PER_ADDRESS} (tracker) | 20 per address, any names | as above, for every name from that address |
 * | {@link REGISTRATIONS_PER_ADDRESS} (tracker) | 60 per address group | `RATE_LIMITED`; one more each {@link REGISTRATION_REFILL_MS} (1 min) |
 * | {@link MAX_CONCURRENT_HASHES}, {@link MAX_WAITING_HASHES} (tracker) | 2 running, 16 waiting | `BUSY` reply to `login`, `register` or `passwd` |
 * | {@link MAX_PROGRESS_VERSIONS_PER_MEMBER} (tracker) | 32 | `FORBIDDEN` reply to `progress` |
 * | {@link MAX_PARTIAL_HOLDERS} (tracker) | 20,000 | `BUSY` reply to `progress` |
 * | {@link MAX_PARTIAL_HOLDERS_PER_VERSION} (tracker) | 500 | the oldest partial holders of the version are not listed |
 * | {@link PROGRESS_MIN_INTERVAL_MS} (tracker) | 1 s | a closer `progress` is accepted, not stored |
 * | {@link MAX_COUNTED_PER_PAIR} (tracker) | 4 per (downloader, source, kind) in {@link REPORT_WINDOW_MS} (a day) | the outcome is accepted, not counted |
 * | {@link MAX_UPLOAD_SLOTS} (peer) | 4 downloaders sent to at once | `BUSY` reply to `read`; the downloader keeps its connection and asks again, served in rotation |
 * | {@link REMOVED_NAME_HOLD_MS} (tracker) | 7 days | `USER_EXISTS` reply to `register` with the removed name |
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

/** Largest control frame body accepted by default (1 MiB). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Bytes all partly received large frames of one process may hold at once (64 MiB). */
export const FRAME_BUDGET_BYTES = 64 * 1024 * 1024;

/** Longest a frame waits for budget before its connection gets `BUSY` and is closed. */
export const FRAME_BUDGET_WAIT_MS = 5_000;

/** Descriptors kept for the runtime, the store and outgoing connections (≈ 35 in use at idle). */
export const OPEN_FILES_RESERVE = 64;

/** Most chunks one file may have; the indexer grows the chunk size to stay under it. */
export const MAX_CHUNKS_PER_FILE = 8192;

/** Smallest chunk size a manifest may use: 64 KiB. */
export const MIN_CHUNK_SIZE = 64 * 1024;

/** Largest chunk size a manifest may use: 16 MiB. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

/** Largest file a manifest may describe: {@link MAX_CHUNKS_PER_FILE} chunks of 16 MiB (128 GiB). */
export const MAX_FILE_BYTES: number = MAX_CHUNKS_PER_FILE * MAX_CHUNK_SIZE;

/** Most characters of an encoded have-map: `MAX_CHUNKS_PER_FILE` bits in base64. */
export const MAX_HAVE_MAP_CHARS: number = Math.ceil(Math.ceil(MAX_CHUNKS_PER_FILE / 8) / 3) * 4;

/** Longest a `have` request with `wait` is held before it is answered with what there is. */
export const HAVE_WAIT_MS = 2_000;

/** Most entries one page of `list` or `holders` carries (pages are bounded in bytes too). */
export const MAX_PAGE_ENTRIES = 5_000;

/** Most versions of one name a `details` reply lists (the preferred ones). */
export const MAX_VERSIONS_LISTED = 100;

/**
 * Most bytes of JSON the entries of one page may take: `list` and `holders` pages, and the holders
 * in a `details` reply (whose chunk hashes take at most 8192 × 67 bytes more), so that every reply
 * stays well within the frame limit.
 */
export const MAX_PAGE_BYTES = 256 * 1024;

/** Most files one `announce` message may carry (a peer sends several messages for more). */
export const MAX_FILES_PER_ANNOUNCE = 1000;

/** Longest host name accepted in a message (RFC 1035, without the trailing dot). */
export const MAX_HOST_LENGTH = 253;

/** Shortest password accepted at registration. */
export const MIN_PASSWORD_LENGTH = 8;

/** Longest read ticket accepted, in characters (a real one is about 300). */
export const MAX_TICKET_CHARS = 512;

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

/** The most uses one invitation code can be given (`admin invite --uses`). */
export const MAX_INVITE_USES = 10_000;

/** The longest an invitation code can be made to work (`admin invite --expires`): a year. */
export const MAX_INVITE_EXPIRY_MS = 365 * 24 * 3600_000;

/** Failures allowed for one user name from one address before attempts are slowed. */
export const LOGIN_FREE_FAILURES = 5;

/** Failures allowed from one address, across all names, before attempts from it are slowed. */
export const LOGIN_FREE_FAILURES_PER_ADDRESS = 20;

/** How long a failure counts; older ones are forgotten. */
export const LOGIN_FAILURE_WINDOW_MS = 60 * 60_000;

/** The longest wait imposed. */
export const LOGIN_MAX_DELAY_MS = 5 * 60_000;

/** Registrations one address may make in a burst (a class behind one NAT fits). */
export const REGISTRATIONS_PER_ADDRESS = 60;

/** After the burst, one more registration per address per this many ms. */
export const REGISTRATION_REFILL_MS = 60_000;

/**
 * At most this many scrypt hashes run at once (each takes 16 MiB and a core for ≈ 50 ms); the
 * rest wait their turn, so a burst of logins cannot exhaust the tracker's memory or starve its
 * other requests.
 */
export const MAX_CONCURRENT_HASHES = 2;

/**
 * At most this many hashes wait for their turn (≈ 0.4 s of work at 2 at once); one more is refused
 * at once with `BUSY`, so a flood of `register` or `login` requests gets quick
 * `BUSY` replies instead of making every honest login wait behind it.
 */
export const MAX_WAITING_HASHES = 16;

/** Most partial holders listed per version (the newest updates win). */
export const MAX_PARTIAL_HOLDERS_PER_VERSION = 500;

/** Most versions one member may be a partial holder of at once; more get `FORBIDDEN`. */
export const MAX_PROGRESS_VERSIONS_PER_MEMBER = 32;

/** Most partial holders kept in all (every version, every member); more get `BUSY`. */
export const MAX_PARTIAL_HOLDERS = 20_000;

/** Updates of one (user, version) closer together than this are accepted but not stored. */
export const PROGRESS_MIN_INTERVAL_MS = 1_000;

/**
 * Most outcomes of one kind (downloads, failures) counted per (downloader, source) in a
 * {@link REPORT_WINDOW_MS}, over all versions: made-up versions cannot inflate a count.
 */
export const MAX_COUNTED_PER_PAIR = 4;

/** How long one (downloader, source, version) outcome blocks another from counting. */
export const REPORT_WINDOW_MS = 24 * 3600_000;

/** A removed account's name cannot be registered again for this long. */
export const REMOVED_NAME_HOLD_MS = 7 * 24 * 3600_000;

/** Downloaders served at once by one peer. */
export const MAX_UPLOAD_SLOTS = 4;
