/**
 * A client of the tracker: one connection, one request at a time (callers are queued), every reply
 * checked against its schema.
 *
 * @module
 */
import {
  type AdminReply,
  adminReply,
  announceReply,
  Channel,
  type ClientTls,
  type Conn,
  connect,
  DEFAULT_HEARTBEAT_MS,
  detailsReply,
  type FileDetails,
  type FileManifest,
  filesReply,
  type FileSummary,
  helloReply,
  holdersReply,
  logoutReply,
  type MeInfo,
  meReply,
  okReply,
  peerReply,
  PROTOCOL_VERSION,
  ProtocolError,
  registerReply,
  type RequestFields,
  type Schema,
  type SessionInfo,
  sessionReply,
  sessionsReply,
  TRACKER_CONNECT_TIMEOUT_MS,
  type TrackerRequest,
  type TrackerRequestOf,
} from "../protocol/mod.ts";
import { processDownloaderKey } from "./downloader_key.ts";
import { PeerError } from "./errors.ts";

/** A tracker address. */
export interface TrackerAddress {
  /** Host name or IP. */
  hostname: string;
  /** TCP port. */
  port: number;
}

/**
 * Parses `HOST:PORT` (IPv6 as `[::1]:7070`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAddress } from "./tracker_client.ts";
 * assert.ok(parseAddress("[::1]:7070").hostname === "::1");
 * assert.ok(parseAddress("127.0.0.1:80").port === 80);
 * ```
 */
export function parseAddress(text: string): TrackerAddress {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`Cannot parse address "${text}": expected HOST:PORT`);
  }
  return { hostname: match[1]!, port };
}

/** Formats an address as `HOST:PORT`, bracketing IPv6. */
export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** A logged-in session. */
export interface Session {
  /** The bearer token. */
  token: string;
  /** Who is logged in. */
  user: string;
  /** When the token expires, ms since the epoch. */
  expiresAt: number;
  /** How often the tracker wants heartbeats. */
  heartbeatMs: number;
  /** The tracker's ticket public key (base64url), pinned for this tracker address. */
  trackerKey: string;
}

/**
 * Tracker ticket keys pinned by this process, by tracker address (or by the list of addresses of
 * a cluster, whose trackers share one KV and so one key): the first login pins the key it
 * returns, and a later login there that returns another key is refused. Kept in memory only, for
 * the life of the process (docs/security.md).
 */
const pinnedKeys = new Map<string, string>();

/**
 * Pins `key` for the tracker at `where`, or throws `TRACKER_KEY_CHANGED` if another key is pinned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pinTrackerKey } from "./tracker_client.ts";
 * pinTrackerKey("example:1", "A".repeat(43));
 * pinTrackerKey("example:1", "A".repeat(43));
 * assert.throws(() => pinTrackerKey("example:1", "B".repeat(43)));
 * ```
 */
export function pinTrackerKey(where: string, key: string): void {
  const pinned = pinnedKeys.get(where);
  if (pinned === undefined) pinnedKeys.set(where, key);
  else if (pinned !== key) {
    throw new PeerError(
      "TRACKER_KEY_CHANGED",
      `Cannot trust tracker at ${where}: its ticket key changed since this process first logged in (another tracker answers at that address, or its KV was replaced); restart this peer to accept the new key`,
    );
  }
}

/** Options for {@link TrackerClient.connect}. */
export interface ConnectOptions {
  /** Gives up connecting after this long. Default 10 s. */
  timeoutMs?: number;
  /** Who is calling, sent in `hello`. */
  agent?: string;
  /** Speak TLS, trusting these CAs besides the system's. */
  tls?: ClientTls;
  /** With several trackers: the one to try first (an index into the list). Default 0. */
  startAt?: number;
}

/**
 * One connection to the tracker.
 *
 * @example
 * ```ts ignore
 * await using client = await TrackerClient.connect({ hostname: "127.0.0.1", port: 7070 });
 * const session = await client.login("ann", "password1");
 * console.log(await client.list(session.token));
 * ```
 */
export class TrackerClient implements AsyncDisposable {
  readonly #channel: Channel;
  /** This end's address of the tracker connection. */
  readonly localAddr: Deno.NetAddr | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Heartbeat interval the tracker asked for in `hello`. */
  readonly heartbeatMs: number;
  /** The tracker's address as `HOST:PORT`. */
  readonly address: string;
  /**
   * What its ticket key is pinned under: its address, or with several trackers (one cluster on
   * one KV, one key) the whole list, so moving between them keeps the pin.
   */
  readonly pinKey: string;
  /** Which of the trackers given to {@link connect} answered (0 for a single one). */
  readonly trackerIndex: number;
  /** The tracker worker that answered, when the tracker runs several (`hello`'s `worker`). */
  readonly worker: number | undefined;

  private constructor(
    channel: Channel,
    where: { address: string; pinKey: string; trackerIndex: number },
    hello: { heartbeatMs: number; worker: number | undefined },
    localAddr?: Deno.NetAddr,
  ) {
    this.#channel = channel;
    this.address = where.address;
    this.pinKey = where.pinKey;
    this.trackerIndex = where.trackerIndex;
    this.localAddr = localAddr;
    this.heartbeatMs = hello.heartbeatMs;
    this.worker = hello.worker;
  }

  /**
   * Connects and exchanges `hello`. Given several trackers (of one cluster), tries them in turn
   * from `startAt` and uses the first that answers. A refused or silent tracker (every one of
   * them) gives `TRACKER_UNREACHABLE`.
   */
  static async connect(
    target: TrackerAddress | readonly TrackerAddress[],
    options: ConnectOptions = {},
  ): Promise<TrackerClient> {
    const list: readonly TrackerAddress[] = Array.isArray(target) ? target : [target];
    if (list.length === 0) throw new TypeError("Cannot connect: no tracker address given");
    const pinKey = list.map((a) => formatAddress(a.hostname, a.port)).join(",");
    const start = options.startAt ?? 0;
    let last: unknown;
    for (let i = 0; i < list.length; i++) {
      const at = (start + i) % list.length;
      try {
        return await TrackerClient.#connectOne(list[at]!, options, { pinKey, trackerIndex: at });
      } catch (error) {
        if (!(error instanceof PeerError && error.code === "TRACKER_UNREACHABLE")) throw error;
        last = error;
      }
    }
    throw last;
  }

  static async #connectOne(
    address: TrackerAddress,
    options: ConnectOptions,
    cluster: { pinKey: string; trackerIndex: number },
  ): Promise<TrackerClient> {
    const where = formatAddress(address.hostname, address.port);
    const signal = AbortSignal.timeout(options.timeoutMs ?? TRACKER_CONNECT_TIMEOUT_MS);
    let conn: Conn;
    try {
      conn = await connect({
        ...address,
        signal,
        ...(options.tls ? { tls: options.tls } : {}),
      });
    } catch (cause) {
      throw new PeerError(
        "TRACKER_UNREACHABLE",
        `Cannot reach tracker at ${where}: ${cause instanceof Error ? cause.message : cause}`,
        { cause },
      );
    }
    const channel = new Channel(conn);
    const timer = setTimeout(
      () => channel.close(),
      options.timeoutMs ?? TRACKER_CONNECT_TIMEOUT_MS,
    );
    try {
      const hello = await channel.request(
        {
          type: "hello",
          version: PROTOCOL_VERSION,
          agent: options.agent ?? "p2pfs-peer",
        } satisfies TrackerRequestOf<"hello">,
        helloReply,
      );
      if (hello.server !== "tracker") {
        throw new PeerError("TRACKER_UNREACHABLE", `Cannot use ${where}: it is not a tracker`);
      }
      return new TrackerClient(
        channel,
        { address: where, ...cluster },
        { heartbeatMs: hello.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, worker: hello.worker },
        conn.localAddr,
      );
    } catch (cause) {
      channel.close();
      if (cause instanceof PeerError) throw cause;
      if (looksLikeHttp(cause)) {
        throw new PeerError(
          "TRACKER_UNREACHABLE",
          `Cannot talk to tracker at ${where}: it is an HTTP server (probably the tracker's dashboard); the tracker itself listens on another port, 7070 by default, shown as "tracker listening on HOST:PORT" when it starts`,
          { cause },
        );
      }
      if (looksLikeTls(cause)) {
        throw new PeerError(
          "TRACKER_UNREACHABLE",
          `Cannot talk to tracker at ${where}: it speaks TLS; pass --tls-ca FILE (a lab CA) or --tls`,
          { cause },
        );
      }
      throw new PeerError(
        "TRACKER_UNREACHABLE",
        `Cannot talk to tracker at ${where}: ${cause instanceof Error ? cause.message : cause}`,
        { cause },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Creates an account; resolves to whether it is the tracker's first (its admin). */
  async register(
    username: string,
    password: string,
    options: Pick<TrackerRequestOf<"register">, "invite"> = {},
  ): Promise<{ admin: boolean }> {
    const reply = await this.#call({
      type: "register",
      username,
      password,
      ...(options.invite !== undefined ? { invite: options.invite } : {}),
    }, registerReply);
    return { admin: reply.admin === true };
  }

  /** An operator's action (refused with `FORBIDDEN` unless the session's user is an admin). */
  async admin(
    token: string,
    request: RequestFields<TrackerRequestOf<"admin">>,
  ): Promise<AdminReply> {
    return await this.#call({ type: "admin", token, ...request }, adminReply);
  }

  /**
   * Logs in and returns the session; throws `TRACKER_KEY_CHANGED` (after logging the new session
   * out) if the tracker's ticket key is not the one this process pinned for its address.
   */
  async login(
    username: string,
    password: string,
    options: Pick<TrackerRequestOf<"login">, "remember"> = {},
  ): Promise<Session> {
    const { token, user, expiresAt, heartbeatMs, trackerKey } = await this.#call(
      { type: "login", username, password, ...(options.remember ? { remember: true } : {}) },
      sessionReply,
    );
    try {
      pinTrackerKey(this.pinKey, trackerKey);
    } catch (error) {
      await this.logout(token).catch(() => {});
      throw error;
    }
    return { token, user, expiresAt, heartbeatMs, trackerKey };
  }

  /**
   * Revokes this session, or with `all` every session of the user, or with `session` the one
   * whose id starts so. Resolves to how many were revoked.
   */
  async logout(
    token: string,
    options: Pick<TrackerRequestOf<"logout">, "all" | "session"> = {},
  ): Promise<number> {
    const reply = await this.#call({ type: "logout", token, ...options }, logoutReply);
    return reply.revoked ?? 1;
  }

  /**
   * Picks up a kept session (`login` with `remember`): the same as a login, for `token`. Throws a
   * `BAD_TOKEN` `RemoteError` when it was revoked or has expired.
   */
  async resume(token: string): Promise<Session> {
    const session = await this.#call({ type: "resume", token }, sessionReply);
    pinTrackerKey(this.pinKey, session.trackerKey);
    const { user, expiresAt, heartbeatMs, trackerKey } = session;
    return { token, user, expiresAt, heartbeatMs, trackerKey };
  }

  /**
   * Changes the password (the old one is required); resolves to how many other sessions ended
   * (none with `keepSessions`).
   */
  async passwd(
    token: string,
    password: string,
    newPassword: string,
    options: Pick<TrackerRequestOf<"passwd">, "keepSessions"> = {},
  ): Promise<number> {
    const reply = await this.#call({
      type: "passwd",
      token,
      password,
      newPassword,
      ...(options.keepSessions ? { keepSessions: true } : {}),
    }, logoutReply);
    return reply.revoked ?? 0;
  }

  /** What the tracker knows of the caller: sessions, announced peer, files shared, counts. */
  async whoami(token: string): Promise<MeInfo> {
    return await this.#call({ type: "whoami", token }, meReply);
  }

  /** The user's live sessions (ids, never tokens). */
  async sessions(token: string): Promise<SessionInfo[]> {
    return (await this.#call({ type: "sessions", token }, sessionsReply)).sessions;
  }

  /**
   * Tells the tracker where this peer listens and what it shares. Resolves to the address the
   * tracker recorded and hands to downloaders: the address this connection comes from, unless the
   * tracker trusts announced hosts (an older tracker that does not say gets `listen` back).
   */
  async announce(
    token: string,
    listen: Pick<TrackerRequestOf<"announce">, "host" | "port" | "tls">,
    files: FileManifest[],
  ): Promise<{ host: string; port: number }> {
    let recorded = { host: listen.host, port: listen.port };
    // Keep each frame well under the 1 MiB limit: batches of ≈ 512 KiB of JSON.
    const batches: FileManifest[][] = [[]];
    let bytes = 0;
    for (const file of files) {
      const size = 200 + file.name.length + file.chunkHashes.length * 67;
      const last = batches[batches.length - 1]!;
      if (last.length > 0 && (bytes + size > 512 * 1024 || last.length >= 1000)) {
        batches.push([]);
        bytes = 0;
      }
      batches[batches.length - 1]!.push(file);
      bytes += size;
    }
    for (const [i, batch] of batches.entries()) {
      const reply = await this.#call(
        {
          type: "announce",
          token,
          host: listen.host,
          port: listen.port,
          replace: i === 0,
          ...(listen.tls ? { tls: true } : {}),
          files: batch,
        },
        announceReply,
      );
      if (reply.host !== undefined) {
        recorded = { host: reply.host, port: reply.port ?? listen.port };
      }
    }
    return recorded;
  }

  /** Tells the tracker this peer is alive. */
  async heartbeat(token: string): Promise<void> {
    await this.#call({ type: "heartbeat", token }, okReply);
  }

  /**
   * Files with online sources (or all, with `all`), optionally filtered by `search`: every page,
   * in (name, version id) order.
   */
  async list(
    token: string,
    options: Pick<TrackerRequestOf<"list">, "search" | "all"> = {},
  ): Promise<FileSummary[]> {
    const files: FileSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#call(
        { type: "list", token, ...options, ...(cursor !== undefined ? { cursor } : {}) },
        filesReply,
      );
      files.push(...page.files);
      cursor = page.next;
    } while (cursor !== undefined);
    return files;
  }

  /**
   * Everything about one file: the version `get` would choose, or the one named by `sha256` (its
   * whole-file hash) or `version` (a prefix of its id or SHA-256), a list of every version, and a
   * read ticket bound to this process's downloader key (see {@link processDownloaderKey}).
   */
  async details(
    token: string,
    name: string,
    which: Pick<TrackerRequestOf<"details">, "sha256" | "version"> = {},
  ): Promise<FileDetails> {
    const key = (await processDownloaderKey()).publicKey;
    const details = await this.#call(
      { type: "details", token, name, ...which, key },
      detailsReply,
    );
    // Holders beyond the first page come a page at a time.
    let cursor = details.next;
    while (cursor !== undefined) {
      const page = await this.#call(
        { type: "holders", token, name, id: details.id, cursor },
        holdersReply,
      );
      details.peers.push(...page.peers);
      cursor = page.next;
    }
    delete details.next;
    return details;
  }

  /** Where a peer listens and whether it is online. */
  async locate(
    token: string,
    user: string,
  ): Promise<{ host: string; port: number; online: boolean; tls: boolean }> {
    const { host, port, online, tls } = await this.#call(
      { type: "locate", token, user },
      peerReply,
    );
    return { host, port, online, tls: tls ?? false };
  }

  /** Reports how a transfer from `source` went. */
  async report(token: string, report: RequestFields<TrackerRequestOf<"report">>): Promise<void> {
    await this.#call({ type: "report", token, ...report }, okReply);
  }

  /**
   * Tells the tracker this peer serves the verified chunks of version `id` of `name` at
   * `host:port` while it downloads it (`progress` 0-1; `stalled` when no online peer has what it
   * still needs), or with `withdraw` that it stopped. The tracker accepts it only for a version
   * this account asked `details` of recently.
   */
  async progress(
    token: string,
    update: RequestFields<TrackerRequestOf<"progress">>,
  ): Promise<void> {
    await this.#call({ type: "progress", token, ...update }, okReply);
  }

  /** Closes the connection. */
  close(): void {
    this.#channel.close();
  }

  /** The same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#queue.catch(() => {});
    this.close();
  }

  /** Sends `message`, typed by the request schemas, after the calls before it; checks the reply. */
  #call<T>(message: TrackerRequest, schema: Schema<T>): Promise<T> {
    const run = this.#queue.catch(() => {}).then(() => this.#channel.request(message, schema));
    this.#queue = run;
    return run;
  }
}

/** Whether a hello failed because the other side answered with a TLS record (a TLS server). */
/** An HTTP server answers a frame with `HTTP/1.1 400 ...`: its first four bytes read as a length. */
function looksLikeHttp(error: unknown): boolean {
  if (!(error instanceof ProtocolError) || error.code !== "FRAME_TOO_LARGE") return false;
  const length = Number(/length (\d+)/.exec(error.message)?.[1] ?? 0);
  return length === 0x48545450; // "HTTP"
}

function looksLikeTls(error: unknown): boolean {
  if (!(error instanceof ProtocolError) || error.code !== "FRAME_TOO_LARGE") return false;
  const length = Number(/length (\d+)/.exec(error.message)?.[1] ?? 0);
  const contentType = length >>> 24; // the first byte: 0x14-0x17 for TLS records
  const major = (length >>> 16) & 0xff; // the second byte: version 3.x
  return contentType >= 0x14 && contentType <= 0x17 && major === 3;
}
