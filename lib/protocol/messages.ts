/**
 * Every control message of the tracker and peer protocols, as schemas and types. A message is a
 * JSON object with a `type`; {@link parseTrackerRequest} and {@link parsePeerRequest} check every
 * field of what arrives, and the `*Reply` schemas check what comes back. Each message's type is
 * declared here with its fields documented, and its schema is checked against it by the compiler
 * (see `objectOf` in `schema.ts`): clients build their requests from these types.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { isHost } from "./host.ts";
import {
  MAX_CHUNKS_PER_FILE,
  MAX_FILES_PER_ANNOUNCE,
  MAX_HAVE_MAP_CHARS,
  MAX_HOST_LENGTH,
  MAX_INVITE_EXPIRY_MS,
  MAX_INVITE_USES,
  MAX_PAGE_ENTRIES,
  MAX_TICKET_CHARS,
  MAX_VERSIONS_LISTED,
} from "./limits.ts";
import { array, bool, int, num, objectOf, oneOf, optional, type Schema, str } from "./schema.ts";

/** The protocol version both sides must speak; exchanged in `hello`. */
export const PROTOCOL_VERSION = 1;

/**
 * Usernames: 1–32 of `[A-Za-z0-9_.-]`, but not `.` or `..` (a name may end up in a path). The
 * tracker compares names without regard to case.
 */
export const USERNAME_PATTERN = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,32}$/;

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
export const publicKeyText: Schema<string> = str({
  min: 43,
  max: 43,
  pattern: /^[A-Za-z0-9_-]{43}$/,
  describe: "an Ed25519 public key in base64url (43 characters)",
});
/** A 64-byte Ed25519 signature in unpadded base64url: 86 characters. */
export const signatureText: Schema<string> = str({
  min: 86,
  max: 86,
  pattern: /^[A-Za-z0-9_-]{86}$/,
  describe: "an Ed25519 signature in base64url (86 characters)",
});
/** A read ticket as it travels: base64url payload, a dot, base64url signature. */
export const ticketText: Schema<string> = str({
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
export interface FileManifest {
  /** Its relative path in the share (see {@link isSafeFileName}). */
  name: string;
  /** Its size in bytes. */
  size: number;
  /** Bytes per chunk (the last chunk may be shorter). */
  chunkSize: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
  /** SHA-256 of each chunk, hex, at most {@link MAX_CHUNKS_PER_FILE}. */
  chunkHashes: string[];
}

/** One shared file as a peer announces it. */
export const fileManifest: Schema<FileManifest> = objectOf<FileManifest>({
  name: fileName,
  size,
  chunkSize: int({ min: 1, max: 1 << 30 }),
  sha256,
  chunkHashes: array(sha256, { max: MAX_CHUNKS_PER_FILE }),
});

/** Why a transfer from a source failed, as a list. */
export const FAILURE_REASONS = [
  "refused",
  "timeout",
  "corrupt",
  "closed",
  "not_found",
  "stale",
] as const;
/** Why a transfer from a source failed. */
export type FailureReason = typeof FAILURE_REASONS[number];
/** Why a transfer from a source failed. */
export const failureReason: Schema<FailureReason> = oneOf(...FAILURE_REASONS);

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

/**
 * The first message on every connection, to a tracker or a peer. (Requests are object types, not
 * interfaces, so that they fit a channel's `OutgoingMessage`.)
 */
export type HelloRequest = {
  /** `hello`. */
  type: "hello";
  /** The protocol version the client speaks ({@link PROTOCOL_VERSION}). */
  version: number;
  /** Who is calling, for logs and the sessions list. */
  agent?: string;
};

/** A request a client sends to the tracker, by its `type`. */
export type TrackerRequest =
  | HelloRequest
  | {
    /** Creates an account. */
    type: "register";
    /** The new account's name. */
    username: string;
    /** Its password. */
    password: string;
    /** An invitation code (`--registration invite`). */
    invite?: string;
  }
  | {
    /** An operator's action (see `lib/tracker/admin.ts`). */
    type: "admin";
    /** The operator's session. */
    token: string;
    /** What to do. */
    action: AdminAction;
    /** The account it concerns. */
    user?: string;
    /** How many times an invitation may be used. */
    uses?: number;
    /** How long an invitation or token lives, ms. */
    expiresMs?: number;
  }
  | {
    /** Logs in. */
    type: "login";
    /** The account. */
    username: string;
    /** Its password. */
    password: string;
    /** A session to keep (`p2pfs-peer login`): it lives `STORED_SESSION_TTL_MS`. */
    remember?: boolean;
  }
  | {
    /** Picks up a stored session: the same reply as `login`, for the same token. */
    type: "resume";
    /** The stored session. */
    token: string;
  }
  | {
    /** Changes the caller's password; the other sessions end unless `keepSessions`. */
    type: "passwd";
    /** The caller's session. */
    token: string;
    /** The current password. */
    password: string;
    /** The new one. */
    newPassword: string;
    /** Keep the caller's other sessions. */
    keepSessions?: boolean;
  }
  | {
    /** Ends this session, or every one (`all`), or the one whose id starts with `session`. */
    type: "logout";
    /** The caller's session. */
    token: string;
    /** End every session of the caller. */
    all?: boolean;
    /** The start of the id of the session to end. */
    session?: string;
  }
  | {
    /** Lists the caller's sessions. */
    type: "sessions";
    /** The caller's session. */
    token: string;
  }
  | {
    /** What the tracker knows of the caller. */
    type: "whoami";
    /** The caller's session. */
    token: string;
  }
  | {
    /** Where the peer listens and what it shares. */
    type: "announce";
    /** The caller's session. */
    token: string;
    /** The host it listens on. */
    host: string;
    /** The port it listens on. */
    port: number;
    /** Whether this replaces what it announced before (the first message of a batch). */
    replace: boolean;
    /** Whether it speaks TLS. */
    tls?: boolean;
    /** What it shares, at most {@link MAX_FILES_PER_ANNOUNCE}. */
    files: FileManifest[];
  }
  | {
    /** The peer is alive. */
    type: "heartbeat";
    /** The caller's session. */
    token: string;
  }
  | {
    /** One page of the files with online sources. */
    type: "list";
    /** The caller's session. */
    token: string;
    /** Only names containing this. */
    search?: string;
    /** Files without online sources too. */
    all?: boolean;
    /** Where the page starts: the `next` of the page before. */
    cursor?: string;
    /** Most entries on the page. */
    limit?: number;
  }
  | {
    /** Everything about one file, and a read ticket. */
    type: "details";
    /** The caller's session. */
    token: string;
    /** The file's name. */
    name: string;
    /** The version with this whole-file SHA-256. */
    sha256?: string;
    /** The version whose id or SHA-256 starts so. */
    version?: string;
    /** The downloader's ephemeral public key, which the ticket is bound to. */
    key?: string;
  }
  | {
    /** The next page of a version's holders. */
    type: "holders";
    /** The caller's session. */
    token: string;
    /** The file's name. */
    name: string;
    /** The version's id. */
    id: string;
    /** Where the page starts: the `next` of the page before. */
    cursor?: string;
  }
  | {
    /** Where a peer listens. */
    type: "locate";
    /** The caller's session. */
    token: string;
    /** The peer's user. */
    user: string;
  }
  | {
    /**
     * A running download of version `id` of `name` serves the chunks it has verified at
     * `host:port` (a partial holder). Sent at most every few seconds, and accepted only from a
     * member that asked `details` of that version recently.
     */
    type: "progress";
    /** The caller's session. */
    token: string;
    /** The file's name. */
    name: string;
    /** The version's id. */
    id: string;
    /** The host it serves on. */
    host: string;
    /** The port it serves on. */
    port: number;
    /** Whether it speaks TLS. */
    tls?: boolean;
    /** The share verified, 0-1 (1: it holds the whole file and is seeding it). */
    progress: number;
    /** Which chunks it holds, as a have-map (see `have_map.ts`), for the dashboard's chunk map. */
    have?: string;
    /** It stopped serving the version. */
    withdraw?: boolean;
    /** No online peer has the chunks it still needs: it waits for one (shown on the dashboard). */
    stalled?: boolean;
    /** The holders it is fetching from now (at most 8), for the dashboard's source → downloader. */
    sources?: string[];
  }
  | {
    /** How a transfer from `source` went. */
    type: "report";
    /** The caller's session. */
    token: string;
    /** The file's name. */
    name: string;
    /** Its whole-file SHA-256. */
    sha256: string;
    /** The version's id. */
    id: string;
    /** The holder it fetched from. */
    source: string;
    /** Whether the transfer succeeded. */
    ok: boolean;
    /** Bytes received. */
    bytes: number;
    /** Why it failed. */
    reason?: FailureReason;
  };

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

/** A schema for each request of a union, by its `type`. */
type RequestSchemas<R extends { type: string }> = {
  [K in R["type"]]: Schema<Extract<R, { type: K }>>;
};

const hello = objectOf<HelloRequest>({
  type: oneOf("hello"),
  version: int(),
  agent: optional(str({ max: 64 })),
});

const trackerRequests: RequestSchemas<TrackerRequest> = {
  hello,
  register: objectOf<TrackerRequestOf<"register">>({
    type: oneOf("register"),
    username,
    password: str({ min: 1, max: 1024 }),
    invite: optional(str({ min: 1, max: 128 })),
  }),
  admin: objectOf<TrackerRequestOf<"admin">>({
    type: oneOf("admin"),
    token,
    action: oneOf(...ADMIN_ACTIONS),
    user: optional(username),
    uses: optional(int({ min: 1, max: MAX_INVITE_USES })),
    expiresMs: optional(int({ min: 1_000, max: MAX_INVITE_EXPIRY_MS })),
  }),
  login: objectOf<TrackerRequestOf<"login">>({
    type: oneOf("login"),
    username,
    password: str({ min: 1, max: 1024 }),
    remember: optional(bool()),
  }),
  resume: objectOf<TrackerRequestOf<"resume">>({ type: oneOf("resume"), token }),
  passwd: objectOf<TrackerRequestOf<"passwd">>({
    type: oneOf("passwd"),
    token,
    password: str({ min: 1, max: 1024 }),
    newPassword: str({ min: 1, max: 1024 }),
    keepSessions: optional(bool()),
  }),
  logout: objectOf<TrackerRequestOf<"logout">>({
    type: oneOf("logout"),
    token,
    all: optional(bool()),
    session: optional(str({ min: 4, max: 64, pattern: /^[0-9a-f]+$/, describe: "a session id" })),
  }),
  sessions: objectOf<TrackerRequestOf<"sessions">>({ type: oneOf("sessions"), token }),
  whoami: objectOf<TrackerRequestOf<"whoami">>({ type: oneOf("whoami"), token }),
  announce: objectOf<TrackerRequestOf<"announce">>({
    type: oneOf("announce"),
    token,
    host,
    port,
    replace: bool(),
    tls: optional(bool()),
    files: array(fileManifest, { max: MAX_FILES_PER_ANNOUNCE }),
  }),
  heartbeat: objectOf<TrackerRequestOf<"heartbeat">>({ type: oneOf("heartbeat"), token }),
  list: objectOf<TrackerRequestOf<"list">>({
    type: oneOf("list"),
    token,
    search: optional(str({ max: 256 })),
    all: optional(bool()),
    cursor: optional(listCursor),
    limit: optional(int({ min: 1, max: MAX_PAGE_ENTRIES })),
  }),
  details: objectOf<TrackerRequestOf<"details">>({
    type: oneOf("details"),
    token,
    name: fileName,
    sha256: optional(sha256),
    version: optional(versionPrefix),
    key: optional(publicKeyText),
  }),
  holders: objectOf<TrackerRequestOf<"holders">>({
    type: oneOf("holders"),
    token,
    name: fileName,
    id: sha256,
    cursor: optional(username),
  }),
  locate: objectOf<TrackerRequestOf<"locate">>({ type: oneOf("locate"), token, user: username }),
  progress: objectOf<TrackerRequestOf<"progress">>({
    type: oneOf("progress"),
    token,
    name: fileName,
    id: sha256,
    host,
    port,
    tls: optional(bool()),
    progress: num({ min: 0, max: 1 }),
    have: optional(str({ max: MAX_HAVE_MAP_CHARS })),
    withdraw: optional(bool()),
    stalled: optional(bool()),
    sources: optional(array(username, { max: 8 })),
  }),
  report: objectOf<TrackerRequestOf<"report">>({
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

/** A request one peer sends another, by its `type`. */
export type PeerRequest =
  | HelloRequest
  | {
    /** Asks for a `pong` with the same nonce. */
    type: "ping";
    /** Any number, echoed back. */
    nonce: number;
  }
  | {
    /** Shows a read ticket, proved with the downloader's key over the connection's challenge. */
    type: "ticket";
    /** The ticket from `details`. */
    ticket: string;
    /** The signature of the ticket and challenge with the key the ticket names. */
    proof: string;
  }
  | {
    /** Asks for `length` bytes of a file from `offset` (answered with a `data` header). */
    type: "read";
    /** The file's name. */
    name: string;
    /** Its whole-file SHA-256. */
    sha256: string;
    /** Where the range starts. */
    offset: number;
    /** How many bytes. */
    length: number;
  }
  | {
    /**
     * Which chunks of version `id` the peer can serve (answered with a `have` reply); with
     * `wait`, the answer waits until it has verified more than it last told this connection, or
     * at most `HAVE_WAIT_MS`.
     */
    type: "have";
    /** The file's name. */
    name: string;
    /** The version's id. */
    id: string;
    /** Wait for more before answering. */
    wait?: boolean;
  };

/** The peer request of one `type`, as its schema checks it. */
export type PeerRequestOf<K extends PeerRequest["type"]> = Extract<PeerRequest, { type: K }>;

const peerRequests: RequestSchemas<PeerRequest> = {
  hello,
  ping: objectOf<PeerRequestOf<"ping">>({ type: oneOf("ping"), nonce: int() }),
  ticket: objectOf<PeerRequestOf<"ticket">>({
    type: oneOf("ticket"),
    ticket: ticketText,
    proof: signatureText,
  }),
  read: objectOf<PeerRequestOf<"read">>({
    type: oneOf("read"),
    name: fileName,
    sha256,
    offset: size,
    length: size,
  }),
  have: objectOf<PeerRequestOf<"have">>({
    type: oneOf("have"),
    name: fileName,
    id: sha256,
    wait: optional(bool()),
  }),
};

function dispatch<R extends { type: string }>(
  schemas: RequestSchemas<R>,
  message: Record<string, unknown>,
): R {
  const type = message.type;
  if (typeof type !== "string" || !Object.hasOwn(schemas, type)) {
    throw new ProtocolError(
      "UNKNOWN_TYPE",
      `Cannot handle message: unknown type ${JSON.stringify(type)?.slice(0, 40)}`,
    );
  }
  return schemas[type as R["type"]](message, type);
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
  return dispatch(trackerRequests, message);
}

/** Checks a decoded message against the peer-to-peer request schemas. */
export function parsePeerRequest(message: Record<string, unknown>): PeerRequest {
  return dispatch(peerRequests, message);
}

/** Reply to `hello` from either side. */
export interface HelloReply {
  /** `hello`. */
  type: "hello";
  /** The protocol version the server speaks. */
  version: number;
  /** Which kind of server answered. */
  server: "tracker" | "peer";
  /** A peer's user. */
  user?: string;
  /** How often a tracker wants heartbeats, ms. */
  heartbeatMs?: number;
  /** A peer's challenge, which ticket proofs on this connection sign. */
  challenge?: string;
  /** Which of a tracker's worker processes answered (`--workers N`), 1 to N. */
  worker?: number;
}

/** Reply to `hello` from either side. */
export const helloReply: Schema<HelloReply> = objectOf<HelloReply>({
  type: oneOf("hello"),
  version: int(),
  server: oneOf("tracker", "peer"),
  user: optional(username),
  heartbeatMs: optional(int({ min: 1 })),
  challenge: optional(challenge),
  worker: optional(int({ min: 1, max: 1024 })),
});

/** Plain success reply. */
export interface OkReply {
  /** `ok`. */
  type: "ok";
}

/** Plain success reply. */
export const okReply: Schema<OkReply> = objectOf<OkReply>({ type: oneOf("ok") });

/**
 * Reply to `announce`: the address the tracker recorded for the peer and hands to downloaders
 * (the connection's address unless the tracker trusts announced hosts); absent from old trackers.
 */
export interface AnnounceReply {
  /** `ok`. */
  type: "ok";
  /** The host recorded. */
  host?: string;
  /** The port recorded. */
  port?: number;
}

/** Reply to `announce` (see {@link AnnounceReply}). */
export const announceReply: Schema<AnnounceReply> = objectOf<AnnounceReply>({
  type: oneOf("ok"),
  host: optional(host),
  port: optional(port),
});

/** Reply to `register`. */
export interface RegisterReply {
  /** `ok`. */
  type: "ok";
  /** Whether it is the tracker's first account, its admin. */
  admin?: boolean;
}

/** Reply to `register`: `admin` for the tracker's first account. */
export const registerReply: Schema<RegisterReply> = objectOf<RegisterReply>({
  type: oneOf("ok"),
  admin: optional(bool()),
});

/** One account, as `admin users` lists it. */
export interface AdminUserInfo {
  /** Its name. */
  user: string;
  /** Whether it is an operator. */
  admin: boolean;
  /** Whether it is disabled. */
  disabled: boolean;
  /** When it was created, ms since the epoch. */
  createdAt: number;
  /** When it was last seen, ms since the epoch. */
  lastSeen?: number;
  /** Whether its peer is online. */
  online: boolean;
  /** Downloads from it. */
  downloads: number;
  /** Failed transfers from it. */
  failures: number;
}

/** One account, as `admin users` lists it. */
export const adminUserInfo: Schema<AdminUserInfo> = objectOf<AdminUserInfo>({
  user: username,
  admin: bool(),
  disabled: bool(),
  createdAt: int(),
  lastSeen: optional(int()),
  online: bool(),
  downloads: num({ min: 0 }),
  failures: num({ min: 0 }),
});

/** Reply to `admin`: what the action did (the fields it concerns). */
export interface AdminReply {
  /** `admin`. */
  type: "admin";
  /** The accounts (`users`). */
  users?: AdminUserInfo[];
  /** The account acted on. */
  user?: string;
  /** An invitation code (`invite`). */
  code?: string;
  /** How many times the invitation may be used. */
  uses?: number;
  /** When the invitation or token expires, ms since the epoch. */
  expiresAt?: number;
  /** A new password (`reset-password`, `add`). */
  password?: string;
  /** How many sessions ended (`kick`, `disable`). */
  ended?: number;
  /** A new token (`token`). */
  token?: string;
}

/** Reply to `admin`. */
export const adminReply: Schema<AdminReply> = objectOf<AdminReply>({
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

/** Reply to `login` and `resume`. */
export interface SessionReply {
  /** `session`. */
  type: "session";
  /** The bearer token. */
  token: string;
  /** Who is logged in. */
  user: string;
  /** When the token expires, ms since the epoch. */
  expiresAt: number;
  /** How often the tracker wants heartbeats, ms. */
  heartbeatMs: number;
  /** The tracker's ticket public key (base64url). */
  trackerKey: string;
}

/** Reply to `login` and `resume`. */
export const sessionReply: Schema<SessionReply> = objectOf<SessionReply>({
  type: oneOf("session"),
  token,
  user: username,
  expiresAt: int(),
  heartbeatMs: int({ min: 1 }),
  trackerKey: publicKeyText,
});

/** One entry of the `list` reply. */
export interface FileSummary {
  /** The file's name. */
  name: string;
  /** Its size in bytes. */
  size: number;
  /** Its whole-file SHA-256. */
  sha256: string;
  /** The version's id. */
  id: string;
  /** How many online holders it has. */
  sources: number;
}

/** One entry of the `list` reply. */
export const fileSummary: Schema<FileSummary> = objectOf<FileSummary>({
  name: fileName,
  size,
  sha256,
  id: sha256,
  sources: int(),
});

/** Reply to `list`. */
export interface FilesReply {
  /** `files`. */
  type: "files";
  /** One page of files. */
  files: FileSummary[];
  /** Where the next page starts; absent on the last page. */
  next?: string;
}

/** Reply to `list`. */
export const filesReply: Schema<FilesReply> = objectOf<FilesReply>({
  type: oneOf("files"),
  files: array(fileSummary, { max: MAX_PAGE_ENTRIES }),
  next: optional(listCursor),
});

/** One holder of a file in the `details` reply. */
export interface HolderInfo {
  /** Its user. */
  user: string;
  /** Where it listens. */
  host: string;
  /** Its port. */
  port: number;
  /** Whether it is online. */
  online: boolean;
  /** Whether it speaks TLS. */
  tls?: boolean;
  /** When it was last seen, ms since the epoch. */
  lastSeen: number;
  /** Downloads from it. */
  downloads: number;
  /** Failed transfers from it. */
  failures: number;
  /** Whether it holds the whole file (false: a download in progress that serves what it has). */
  complete?: boolean;
  /** Share of the file it holds, 0-1. */
  progress?: number;
  /** A partial holder that said no online peer has the chunks it still needs. */
  stalled?: boolean;
}

/** One holder of a file in the `details` reply. */
export const holderInfo: Schema<HolderInfo> = objectOf<HolderInfo>({
  user: username,
  host,
  port,
  online: bool(),
  tls: optional(bool()),
  lastSeen: int(),
  downloads: num({ min: 0 }),
  failures: num({ min: 0 }),
  complete: optional(bool()),
  progress: optional(num({ min: 0, max: 1 })),
  stalled: optional(bool()),
});

/** One version of a name in the `details` reply. */
export interface VersionInfo {
  /** The version's id. */
  id: string;
  /** Its whole-file SHA-256. */
  sha256: string;
  /** Its size in bytes. */
  size: number;
  /** Bytes per chunk. */
  chunkSize: number;
  /** How many peers hold it. */
  holders: number;
  /** How many of them are online. */
  online: number;
  /** How often it was downloaded. */
  downloads: number;
}

/** One version of a name in the `details` reply. */
export const versionInfo: Schema<VersionInfo> = objectOf<VersionInfo>({
  id: sha256,
  sha256,
  size,
  chunkSize: int({ min: 1 }),
  holders: int(),
  online: int(),
  downloads: num({ min: 0 }),
});

/** Reply to `details`: the version `get` would choose (or the one asked for), and every version. */
export interface FileDetails {
  /** `details`. */
  type: "details";
  /** The file's name. */
  name: string;
  /** The version's id. */
  id: string;
  /** Its size in bytes. */
  size: number;
  /** Its whole-file SHA-256. */
  sha256: string;
  /** Bytes per chunk. */
  chunkSize: number;
  /** SHA-256 of each chunk. */
  chunkHashes: string[];
  /** Its holders (the first page). */
  peers: HolderInfo[];
  /** Every version of the name (the preferred ones, at most {@link MAX_VERSIONS_LISTED}). */
  versions: VersionInfo[];
  /** A read ticket for this version, bound to the key the request named. */
  ticket?: string;
  /** More holders follow: ask `holders` with this cursor. */
  next?: string;
}

/** Reply to `details`. */
export const detailsReply: Schema<FileDetails> = objectOf<FileDetails>({
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
  next: optional(username),
});

/** Reply to `holders`: the next page of a version's holders. */
export interface HoldersReply {
  /** `holders`. */
  type: "holders";
  /** One page of holders. */
  peers: HolderInfo[];
  /** Where the next page starts; absent on the last page. */
  next?: string;
}

/** Reply to `holders`. */
export const holdersReply: Schema<HoldersReply> = objectOf<HoldersReply>({
  type: oneOf("holders"),
  peers: array(holderInfo, { max: MAX_PAGE_ENTRIES }),
  next: optional(username),
});

/** One session in the `sessions` reply; `id` is the start of the token's hash, never the token. */
export interface SessionInfo {
  /** The start of the token's hash. */
  id: string;
  /** When it started, ms since the epoch. */
  createdAt: number;
  /** When it expires, ms since the epoch. */
  expiresAt: number;
  /** The client's agent string from `hello`. */
  agent?: string;
  /** Whether it is the session that asked. */
  current: boolean;
}

/** One session in the `sessions` reply. */
export const sessionInfo: Schema<SessionInfo> = objectOf<SessionInfo>({
  id: str({ min: 4, max: 64 }),
  createdAt: int(),
  expiresAt: int(),
  agent: optional(str({ max: 64 })),
  current: bool(),
});

/** Reply to `sessions`. */
export interface SessionsReply {
  /** `sessions`. */
  type: "sessions";
  /** The caller's live sessions. */
  sessions: SessionInfo[];
}

/** Reply to `sessions`. */
export const sessionsReply: Schema<SessionsReply> = objectOf<SessionsReply>({
  type: oneOf("sessions"),
  sessions: array(sessionInfo, { max: 10_000 }),
});

/** Reply to `logout` and `passwd`. */
export interface LogoutReply {
  /** `ok`. */
  type: "ok";
  /** How many sessions were revoked. */
  revoked?: number;
}

/** Reply to `logout` and `passwd`: how many sessions were revoked. */
export const logoutReply: Schema<LogoutReply> = objectOf<LogoutReply>({
  type: oneOf("ok"),
  revoked: optional(int()),
});

/** Where a peer listens, as `whoami` tells it. */
export interface PeerAddressInfo {
  /** The host. */
  host: string;
  /** The port. */
  port: number;
  /** Whether it is online. */
  online: boolean;
  /** Whether it speaks TLS. */
  tls?: boolean;
}

/** Reply to `whoami`: what the tracker knows of the caller. */
export interface MeInfo {
  /** `me`. */
  type: "me";
  /** The caller's user. */
  user: string;
  /** How many sessions it has. */
  sessions: number;
  /** Its announced peer. */
  peer?: PeerAddressInfo;
  /** How many files it shares. */
  files: number;
  /** How many bytes it shares. */
  bytes: number;
  /** Downloads from it. */
  downloads: number;
  /** Failed transfers from it. */
  failures: number;
}

/** Reply to `whoami`. */
export const meReply: Schema<MeInfo> = objectOf<MeInfo>({
  type: oneOf("me"),
  user: username,
  sessions: int(),
  peer: optional(objectOf<PeerAddressInfo>({ host, port, online: bool(), tls: optional(bool()) })),
  files: int(),
  bytes: size,
  downloads: num({ min: 0 }),
  failures: num({ min: 0 }),
});

/** Reply to `locate`. */
export interface PeerReply {
  /** `peer`. */
  type: "peer";
  /** The peer's user. */
  user: string;
  /** Where it listens. */
  host: string;
  /** Its port. */
  port: number;
  /** Whether it is online. */
  online: boolean;
  /** Whether it speaks TLS. */
  tls?: boolean;
}

/** Reply to `locate`. */
export const peerReply: Schema<PeerReply> = objectOf<PeerReply>({
  type: oneOf("peer"),
  user: username,
  host,
  port,
  online: bool(),
  tls: optional(bool()),
});

/** Reply to a peer's `ping`. */
export interface PongReply {
  /** `pong`. */
  type: "pong";
  /** The ping's nonce. */
  nonce: number;
}

/** Reply to a peer's `ping`. */
export const pongReply: Schema<PongReply> = objectOf<PongReply>({
  type: oneOf("pong"),
  nonce: int(),
});

/**
 * Reply to `have`: the chunks the peer serves now as a have-map (see `have_map.ts`). `complete`
 * says the map is final (the whole file); otherwise ask again later for more.
 */
export interface HaveReply {
  /** `have`. */
  type: "have";
  /** The version's id. */
  id: string;
  /** The have-map. */
  bits: string;
  /** Whether the map is final. */
  complete: boolean;
}

/** Reply to `have` (see {@link HaveReply}). */
export const haveReply: Schema<HaveReply> = objectOf<HaveReply>({
  type: oneOf("have"),
  id: sha256,
  bits: str({ max: MAX_HAVE_MAP_CHARS }),
  complete: bool(),
});

/** Header before raw file bytes in reply to `read`. */
export interface DataReply {
  /** `data`. */
  type: "data";
  /** Where the range starts. */
  offset: number;
  /** How many raw bytes follow. */
  length: number;
}

/** Header before raw file bytes in reply to `read`. */
export const dataReply: Schema<DataReply> = objectOf<DataReply>({
  type: oneOf("data"),
  offset: size,
  length: size,
});

/**
 * An error reply from either side. `code` is kept as any short string: a newer version may send
 * a code this one does not know (see `RemoteError`).
 */
export interface ErrorReply {
  /** `error`. */
  type: "error";
  /** What went wrong (see `REMOTE_ERROR_CODES`). */
  code: string;
  /** "Cannot X: why", for people. */
  message: string;
}

/** An error reply from either side. */
export const errorReply: Schema<ErrorReply> = objectOf<ErrorReply>({
  type: oneOf("error"),
  code: str({ max: 64 }),
  message: str({ max: 4096 }),
});
