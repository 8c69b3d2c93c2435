/**
 * Every control message of the tracker and peer protocols, as schemas and types. A message is a
 * JSON object with a `type`; {@link parseTrackerRequest} and {@link parsePeerRequest} check every
 * field of what arrives, and the `*Reply` schemas check what comes back.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { isHost, MAX_HOST_LENGTH } from "./host.ts";
import {
  array,
  bool,
  type Infer,
  int,
  num,
  object,
  oneOf,
  optional,
  type Schema,
  str,
} from "./schema.ts";

/** The protocol version both sides must speak; exchanged in `hello`. */
export const PROTOCOL_VERSION = 1;

/** Most chunks one file may have; the indexer grows the chunk size to stay under it. */
export const MAX_CHUNKS_PER_FILE = 8192;

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

/**
 * Usernames: 1–32 of `[A-Za-z0-9_.-]`, but not `.` or `..` (a name may end up in a path). The
 * tracker compares names without regard to case.
 */
export const USERNAME_PATTERN = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,32}$/;

/** Shortest password accepted at registration. */
export const MIN_PASSWORD_LENGTH = 8;

/** Longest read ticket accepted, in characters (a real one is about 300). */
export const MAX_TICKET_CHARS = 512;

/** Longest a `have` request with `wait` is held before it is answered with what there is. */
export const HAVE_WAIT_MS = 2_000;

/** Most characters of an encoded have-map: `MAX_CHUNKS_PER_FILE` bits in base64. */
export const MAX_HAVE_MAP_CHARS: number = Math.ceil(Math.ceil(MAX_CHUNKS_PER_FILE / 8) / 3) * 4;

/**
 * Whether `name` is a safe relative file name: `/`-separated segments, none empty, `.` or `..`,
 * no backslash, NUL or other control character (C0, DEL or C1), at most 1024 characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSafeFileName } from "./messages.ts";
 * assert.ok(isSafeFileName("docs/a.txt"));
 * assert.ok(!isSafeFileName("../etc/passwd"));
 * ```
 */
export function isSafeFileName(name: string): boolean {
  if (name.length === 0 || name.length > 1024) return false;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(name)) return false;
  return name.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

const fileName: Schema<string> = (value, path) => {
  const name = str({ min: 1, max: 1024 })(value, path);
  if (!isSafeFileName(name)) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `Cannot accept message: ${path} must be a relative path without '.', '..' or empty parts`,
    );
  }
  return name;
};
const sha256 = str({ min: 64, max: 64, pattern: /^[0-9a-f]{64}$/, describe: "64 hex digits" });
const username = str({
  min: 1,
  max: 32,
  pattern: USERNAME_PATTERN,
  describe: "1-32 of A-Z a-z 0-9 _ . -, not . or ..",
});
const versionPrefix = str({
  min: 4,
  max: 64,
  pattern: /^[0-9a-f]+$/,
  describe: "4-64 hex digits of a version id or SHA-256",
});
/** Where a `list` page starts: the last version's id, then its name (opaque to clients). */
const listCursor = str({ min: 65, max: 64 + 1024, describe: "a cursor from a list reply" });
const token = str({ min: 1, max: 128, pattern: /^[A-Za-z0-9_-]+$/, describe: "a session token" });
/** An IPv4 address, an IPv6 address or a DNS name ({@link isHost}); nothing else. */
const host: Schema<string> = (value, path) => {
  const text = str({ min: 1, max: MAX_HOST_LENGTH })(value, path);
  if (!isHost(text)) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `Cannot accept message: ${path} must be an IPv4 address, an IPv6 address or a DNS name`,
    );
  }
  return text;
};
/** A raw 32-byte Ed25519 public key in unpadded base64url: 43 characters. */
export const publicKeyText = str({
  min: 43,
  max: 43,
  pattern: /^[A-Za-z0-9_-]{43}$/,
  describe: "an Ed25519 public key in base64url (43 characters)",
});
/** A 64-byte Ed25519 signature in unpadded base64url: 86 characters. */
export const signatureText = str({
  min: 86,
  max: 86,
  pattern: /^[A-Za-z0-9_-]{86}$/,
  describe: "an Ed25519 signature in base64url (86 characters)",
});
/** A read ticket as it travels: base64url payload, a dot, base64url signature. */
export const ticketText = str({
  min: 3,
  max: MAX_TICKET_CHARS,
  pattern: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
  describe: "a ticket (base64url, a dot, base64url)",
});
/** A connection's challenge nonce (32 random bytes in base64url). */
const challenge = str({
  min: 43,
  max: 43,
  pattern: /^[A-Za-z0-9_-]{43}$/,
  describe: "a challenge of 43 base64url characters",
});
const port = int({ min: 1, max: 65535 });
const size = int();

/** One shared file as a peer announces it: name, size, chunking and hashes. */
export const fileManifest = object({
  name: fileName,
  size,
  chunkSize: int({ min: 1, max: 1 << 30 }),
  sha256,
  chunkHashes: array(sha256, { max: MAX_CHUNKS_PER_FILE }),
});
/** One shared file as a peer announces it. */
export type FileManifest = Infer<typeof fileManifest>;

/** Why a transfer from a source failed. */
export const failureReason = oneOf("refused", "timeout", "corrupt", "closed", "not_found", "stale");
/** Why a transfer from a source failed. */
export type FailureReason = Infer<typeof failureReason>;

/** What an operator may do (`admin` requests); the one list the tracker and the clients use. */
export const ADMIN_ACTIONS = [
  "users",
  "disable",
  "enable",
  "remove",
  "reset-password",
  "promote",
  "demote",
  "kick",
  "invite",
  "add",
  "token",
] as const;

/** One of {@link ADMIN_ACTIONS}. */
export type AdminAction = typeof ADMIN_ACTIONS[number];

const trackerRequests = {
  hello: object({ type: oneOf("hello"), version: int(), agent: optional(str({ max: 64 })) }),
  register: object({
    type: oneOf("register"),
    username,
    password: str({ min: 1, max: 1024 }),
    /** An invitation code (`--registration invite`). */
    invite: optional(str({ min: 1, max: 128 })),
  }),
  /** An operator's action (see `lib/tracker/admin.ts`). */
  admin: object({
    type: oneOf("admin"),
    token,
    action: oneOf(...ADMIN_ACTIONS),
    user: optional(username),
    uses: optional(int({ min: 1, max: 10_000 })),
    expiresMs: optional(int({ min: 1_000, max: 365 * 24 * 3600_000 })),
  }),
  login: object({
    type: oneOf("login"),
    username,
    password: str({ min: 1, max: 1024 }),
    /** A session to keep (`p2pfs-peer login`): it lives `STORED_SESSION_TTL_MS`. */
    remember: optional(bool()),
  }),
  /** Picks up a stored session: the same reply as `login`, for the same token. */
  resume: object({ type: oneOf("resume"), token }),
  /** Changes the caller's password; the other sessions end unless `keepSessions`. */
  passwd: object({
    type: oneOf("passwd"),
    token,
    password: str({ min: 1, max: 1024 }),
    newPassword: str({ min: 1, max: 1024 }),
    keepSessions: optional(bool()),
  }),
  logout: object({
    type: oneOf("logout"),
    token,
    all: optional(bool()),
    session: optional(str({ min: 4, max: 64, pattern: /^[0-9a-f]+$/, describe: "a session id" })),
  }),
  sessions: object({ type: oneOf("sessions"), token }),
  whoami: object({ type: oneOf("whoami"), token }),
  announce: object({
    type: oneOf("announce"),
    token,
    host,
    port,
    replace: bool(),
    tls: optional(bool()),
    files: array(fileManifest, { max: MAX_FILES_PER_ANNOUNCE }),
  }),
  heartbeat: object({ type: oneOf("heartbeat"), token }),
  list: object({
    type: oneOf("list"),
    token,
    search: optional(str({ max: 256 })),
    all: optional(bool()),
    cursor: optional(listCursor),
    limit: optional(int({ min: 1, max: MAX_PAGE_ENTRIES })),
  }),
  details: object({
    type: oneOf("details"),
    token,
    name: fileName,
    sha256: optional(sha256),
    version: optional(versionPrefix),
    key: optional(publicKeyText),
  }),
  holders: object({
    type: oneOf("holders"),
    token,
    name: fileName,
    id: sha256,
    cursor: optional(username),
  }),
  locate: object({ type: oneOf("locate"), token, user: username }),
  /**
   * A running download of version `id` of `name` serves the chunks it has verified at
   * `host:port` (a partial holder); `progress` is the share verified, 0-1 (1: it holds the whole
   * file and is seeding it); `withdraw` ends it; `stalled` says no online peer has the chunks it
   * still needs. Sent at most every few seconds, and accepted only from a member that asked
   * `details` of that version recently.
   */
  progress: object({
    type: oneOf("progress"),
    token,
    name: fileName,
    id: sha256,
    host,
    port,
    tls: optional(bool()),
    progress: num({ min: 0, max: 1 }),
    /** Which chunks it holds, as a have-map (see `have_map.ts`), for the dashboard's chunk map. */
    have: optional(str({ max: MAX_HAVE_MAP_CHARS })),
    withdraw: optional(bool()),
    /** No online peer has the chunks it still needs: it waits for one (shown on the dashboard). */
    stalled: optional(bool()),
    /** The holders it is fetching from now (at most 8), for the dashboard's source → downloader. */
    sources: optional(array(username, { max: 8 })),
  }),
  report: object({
    type: oneOf("report"),
    token,
    name: fileName,
    sha256,
    id: sha256,
    source: username,
    ok: bool(),
    bytes: size,
    reason: optional(failureReason),
  }),
};

/** A request a client sends to the tracker, by its `type`. */
export type TrackerRequest = {
  [K in keyof typeof trackerRequests]: Infer<typeof trackerRequests[K]>;
}[
  keyof typeof trackerRequests
];

/**
 * The tracker request of one `type`, as its schema checks it: what a client builds to send, so
 * that the client and the schema cannot drift apart.
 *
 * @example
 * ```ts
 * import type { TrackerRequestOf } from "./messages.ts";
 * const beat: TrackerRequestOf<"heartbeat"> = { type: "heartbeat", token: "abc" };
 * ```
 */
export type TrackerRequestOf<K extends TrackerRequest["type"]> = Extract<
  TrackerRequest,
  { type: K }
>;

/**
 * The fields a caller gives for a request: all but `type` and `token`, which the client fills in.
 *
 * @example
 * ```ts
 * import type { RequestFields, TrackerRequestOf } from "./messages.ts";
 * const query: RequestFields<TrackerRequestOf<"list">> = { search: "report", all: true };
 * ```
 */
export type RequestFields<R extends { type: string }> = Omit<R, "type" | "token">;

const peerRequests = {
  hello: object({ type: oneOf("hello"), version: int(), agent: optional(str({ max: 64 })) }),
  ping: object({ type: oneOf("ping"), nonce: int() }),
  ticket: object({ type: oneOf("ticket"), ticket: ticketText, proof: signatureText }),
  read: object({ type: oneOf("read"), name: fileName, sha256, offset: size, length: size }),
  /**
   * Which chunks of version `id` the peer can serve (answered with a `have` reply); with `wait`,
   * the answer waits until it has verified more than it last told this connection, or at most
   * `HAVE_WAIT_MS`.
   */
  have: object({ type: oneOf("have"), name: fileName, id: sha256, wait: optional(bool()) }),
};

/** A request one peer sends another, by its `type`. */
export type PeerRequest = { [K in keyof typeof peerRequests]: Infer<typeof peerRequests[K]> }[
  keyof typeof peerRequests
];

/** The peer request of one `type`, as its schema checks it. */
export type PeerRequestOf<K extends PeerRequest["type"]> = Extract<PeerRequest, { type: K }>;

function dispatch<M extends Record<string, Schema<unknown>>>(
  schemas: M,
  message: Record<string, unknown>,
): Infer<M[keyof M]> {
  const type = message.type;
  if (typeof type !== "string" || !Object.hasOwn(schemas, type)) {
    throw new ProtocolError(
      "UNKNOWN_TYPE",
      `Cannot handle message: unknown type ${JSON.stringify(type)?.slice(0, 40)}`,
    );
  }
  return schemas[type as keyof M]!(message, type) as Infer<M[keyof M]>;
}

/**
 * Checks a decoded message against the tracker's request schemas.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrackerRequest } from "./messages.ts";
 * const req = parseTrackerRequest({ type: "heartbeat", token: "abc" });
 * assert.ok(req.type === "heartbeat");
 * ```
 */
export function parseTrackerRequest(message: Record<string, unknown>): TrackerRequest {
  return dispatch(trackerRequests, message) as TrackerRequest;
}

/** Checks a decoded message against the peer-to-peer request schemas. */
export function parsePeerRequest(message: Record<string, unknown>): PeerRequest {
  return dispatch(peerRequests, message) as PeerRequest;
}

/** Reply to `hello` from either side. */
export const helloReply = object({
  type: oneOf("hello"),
  version: int(),
  server: oneOf("tracker", "peer"),
  user: optional(username),
  heartbeatMs: optional(int({ min: 1 })),
  challenge: optional(challenge),
  /** Which of a tracker's worker processes answered (`--workers N`), 1 to N. */
  worker: optional(int({ min: 1, max: 1024 })),
});

/** Plain success reply. */
export const okReply = object({ type: oneOf("ok") });

/**
 * Reply to `announce`: the address the tracker recorded for the peer and hands to downloaders
 * (the connection's address unless the tracker trusts announced hosts); absent from old trackers.
 */
export const announceReply = object({
  type: oneOf("ok"),
  host: optional(host),
  port: optional(port),
});

/** Reply to `register`: `admin` for the tracker's first account. */
export const registerReply = object({ type: oneOf("ok"), admin: optional(bool()) });

/** One account, as `admin users` lists it. */
export const adminUserInfo = object({
  user: username,
  admin: bool(),
  disabled: bool(),
  createdAt: int(),
  lastSeen: optional(int()),
  online: bool(),
  downloads: num({ min: 0 }),
  failures: num({ min: 0 }),
});
/** One account, as `admin users` lists it. */
export type AdminUserInfo = Infer<typeof adminUserInfo>;

/** Reply to `admin`: what the action did (the fields it concerns). */
export const adminReply = object({
  type: oneOf("admin"),
  users: optional(array(adminUserInfo, { max: 100_000 })),
  user: optional(username),
  code: optional(str({ max: 128 })),
  uses: optional(int()),
  expiresAt: optional(int()),
  password: optional(str({ max: 128 })),
  ended: optional(int()),
  token: optional(str({ max: 128 })),
});
/** Reply to `admin`. */
export type AdminReply = Infer<typeof adminReply>;

/** Reply to `login` and `resume`. */
export const sessionReply = object({
  type: oneOf("session"),
  token,
  user: username,
  expiresAt: int(),
  heartbeatMs: int({ min: 1 }),
  trackerKey: publicKeyText,
});

/** One entry of the `list` reply. */
export const fileSummary = object({ name: fileName, size, sha256, id: sha256, sources: int() });
/** One entry of the `list` reply. */
export type FileSummary = Infer<typeof fileSummary>;

/** Reply to `list`. */
export const filesReply = object({
  type: oneOf("files"),
  files: array(fileSummary, { max: MAX_PAGE_ENTRIES }),
  next: optional(listCursor),
});

/** One holder of a file in the `details` reply. */
export const holderInfo = object({
  user: username,
  host,
  port,
  online: bool(),
  tls: optional(bool()),
  lastSeen: int(),
  downloads: num({ min: 0 }),
  failures: num({ min: 0 }),
  /** Whether it holds the whole file (false: a download in progress that serves what it has). */
  complete: optional(bool()),
  /** Share of the file it holds, 0-1. */
  progress: optional(num({ min: 0, max: 1 })),
  /** A partial holder that said no online peer has the chunks it still needs. */
  stalled: optional(bool()),
});
/** One holder of a file in the `details` reply. */
export type HolderInfo = Infer<typeof holderInfo>;

/** One version of a name in the `details` reply. */
export const versionInfo = object({
  id: sha256,
  sha256,
  size,
  chunkSize: int({ min: 1 }),
  holders: int(),
  online: int(),
  downloads: num({ min: 0 }),
});
/** One version of a name in the `details` reply. */
export type VersionInfo = Infer<typeof versionInfo>;

/** Reply to `details`: the version `get` would choose (or the one asked for), and every version. */
export const detailsReply = object({
  type: oneOf("details"),
  name: fileName,
  id: sha256,
  size,
  sha256,
  chunkSize: int({ min: 1 }),
  chunkHashes: array(sha256, { max: MAX_CHUNKS_PER_FILE }),
  peers: array(holderInfo, { max: MAX_PAGE_ENTRIES }),
  versions: array(versionInfo, { max: MAX_VERSIONS_LISTED }),
  ticket: optional(ticketText),
  /** More holders follow: ask `holders` with this cursor. */
  next: optional(username),
});

/** Reply to `holders`: the next page of a version's holders. */
export const holdersReply = object({
  type: oneOf("holders"),
  peers: array(holderInfo, { max: MAX_PAGE_ENTRIES }),
  next: optional(username),
});
/** Reply to `details`. */
export type FileDetails = Infer<typeof detailsReply>;

/** One session in the `sessions` reply; `id` is the start of the token's hash, never the token. */
export const sessionInfo = object({
  id: str({ min: 4, max: 64 }),
  createdAt: int(),
  expiresAt: int(),
  agent: optional(str({ max: 64 })),
  current: bool(),
});
/** One session in the `sessions` reply. */
export type SessionInfo = Infer<typeof sessionInfo>;

/** Reply to `sessions`. */
export const sessionsReply = object({
  type: oneOf("sessions"),
  sessions: array(sessionInfo, { max: 10_000 }),
});

/** Reply to `logout`: how many sessions were revoked. */
export const logoutReply = object({ type: oneOf("ok"), revoked: optional(int()) });

/** Reply to `whoami`: what the tracker knows of the caller. */
export const meReply = object({
  type: oneOf("me"),
  user: username,
  sessions: int(),
  peer: optional(object({ host, port, online: bool(), tls: optional(bool()) })),
  files: int(),
  bytes: size,
  downloads: num({ min: 0 }),
  failures: num({ min: 0 }),
});
/** Reply to `whoami`. */
export type MeInfo = Infer<typeof meReply>;

/** Reply to `locate`. */
export const peerReply = object({
  type: oneOf("peer"),
  user: username,
  host,
  port,
  online: bool(),
  tls: optional(bool()),
});

/** Reply to a peer's `ping`. */
export const pongReply = object({ type: oneOf("pong"), nonce: int() });

/**
 * Reply to `have`: the chunks the peer serves now as a have-map (see `have_map.ts`). `complete`
 * says the map is final (the whole file); otherwise ask again later for more.
 */
export const haveReply = object({
  type: oneOf("have"),
  id: sha256,
  bits: str({ max: MAX_HAVE_MAP_CHARS }),
  complete: bool(),
});

/** Header before raw file bytes in reply to `read`. */
export const dataReply = object({ type: oneOf("data"), offset: size, length: size });

/** An error reply from either side. */
export const errorReply = object({
  type: oneOf("error"),
  code: str({ max: 64 }),
  message: str({ max: 4096 }),
});
