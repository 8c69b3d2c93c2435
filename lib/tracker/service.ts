/**
 * What the tracker does with each request, independent of sockets: accounts, sessions, the file
 * index, liveness and transfer counts. {@link TrackerService.handle} takes a checked request and
 * returns the reply, or throws a {@link TrackerError}.
 *
 * @module
 */
import {
  checkManifest,
  type FileDetails,
  type FileSummary,
  type HolderInfo,
  MAX_PAGE_ENTRIES,
  MAX_VERSIONS_LISTED,
  MIN_PASSWORD_LENGTH,
  ProtocolError,
  type TrackerRequest,
  type VersionInfo,
} from "../protocol/mod.ts";
import { HashBusyError, type PasswordHash, type PasswordHasher, ScryptHasher } from "./password.ts";
import { ReportGrants } from "./report_grants.ts";
import type { HolderRow, PeerRecord, SessionRecord, TrackerStore } from "./store.ts";
import { LoginThrottle } from "./login_throttle.ts";
import { partialHolderInfos, PartialHolders } from "./partial_holders.ts";
import { compareText, startAfter, takePage } from "./paging.ts";
import { RegistrationLimit } from "./registration_limit.ts";
import { TicketIssuer } from "./ticket_issuer.ts";
import { hashToken, newToken } from "./token.ts";

/** Codes of the tracker's refusals. */
export type TrackerErrorCode =
  | "AUTH_FAILED"
  | "USER_EXISTS"
  | "BAD_TOKEN"
  | "NOT_FOUND"
  | "FORBIDDEN"
  | "INVALID"
  | "RATE_LIMITED"
  | "BUSY";

/**
 * A request the tracker refuses; becomes an `error` reply with the same code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TrackerError } from "./service.ts";
 * assert.ok(new TrackerError("NOT_FOUND", "Cannot find file: x").code === "NOT_FOUND");
 * ```
 */
export class TrackerError extends Error {
  /** Why it was refused. */
  readonly code: TrackerErrorCode;
  /** Builds the error. */
  constructor(code: TrackerErrorCode, message: string) {
    super(message);
    this.name = "TrackerError";
    this.code = code;
  }
}

/** Settings of a {@link TrackerService}. */
export interface TrackerServiceOptions {
  /** How often peers must heartbeat; a peer silent for 3 intervals is offline. Default 10 s. */
  heartbeatMs?: number;
  /** How long a session token lives. Default 24 h. */
  sessionTtlMs?: number;
  /** The clock, in ms since the epoch (tests may pass their own). */
  now?: () => number;
  /**
   * Record the host a peer names in `announce` instead of the address its connection comes from
   * (for peers behind NAT or a proxy, on a network whose peers are trusted). Default false: a peer
   * chooses only its port.
   */
  trustAnnouncedHosts?: boolean;
  /**
   * Password hashing. Default: a {@link ScryptHasher} (at most 2 hashes running and 16 waiting,
   * beyond which requests get `BUSY`).
   */
  hasher?: PasswordHasher;
  /** `register` requests one address may send at once (`REGISTRATIONS_PER_ADDRESS`, 60). */
  registrationsPerAddress?: number;
  /** How long a read ticket opens new peer connections. Default `TICKET_TTL_MS` (10 min). */
  ticketTtlMs?: number;
}

/** Who sent a request: the connection's remote address and the agent it named in `hello`. */
export interface RequestContext {
  /**
   * Remote IP address, in `canonicalAddress()` form (IPv4-mapped IPv6 as IPv4). Absent only
   * for in-process callers, whose `announce` then records the host they name.
   */
  address?: string;
  /** The client's agent string from `hello`. */
  agent?: string;
}

/** A reply the service returns: a JSON-ready object with a `type`. */
export type Reply = { type: string } & Record<string, unknown>;

/** How many heartbeat intervals a peer may miss before it counts as offline. */
export const MISSED_HEARTBEATS_OFFLINE = 3;

/** How long a session read from KV is trusted without reading it again. */
const SESSION_CACHE_MS = 2_000;

/** How long `list` may reuse the table of holders and peers (local changes refresh it at once). */
const INDEX_CACHE_MS = 1_000;

/** Manifests kept in memory (each at most 8192 hashes); the oldest go first. */
const MANIFEST_CACHE_ENTRIES = 2_000;

/** Most entries a cache map keeps; the oldest go first. */
const CACHE_MAX_ENTRIES = 100_000;

/** Sets `key` in a bounded map, forgetting the oldest entries beyond its size. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > CACHE_MAX_ENTRIES) map.delete(map.keys().next().value!);
}

/**
 * The tracker's request handling over a {@link TrackerStore}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvTrackerStore, TrackerService } from "./mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const service = new TrackerService(store);
 * await service.handle({ type: "register", username: "ann", password: "password1" });
 * const reply = await service.handle({ type: "login", username: "ann", password: "password1" });
 * assert.ok(reply.type === "session");
 * ```
 */
export class TrackerService {
  /** Heartbeat interval peers are told to keep. */
  readonly heartbeatMs: number;
  /** Downloads in progress that serve what they have, for read-only observers (the dashboard). */
  get partialHolders(): PartialHolders {
    return this.#partial;
  }
  readonly #store: TrackerStore;
  readonly #sessionTtlMs: number;
  readonly #now: () => number;
  readonly #trustAnnouncedHosts: boolean;
  readonly #throttle: LoginThrottle;
  readonly #registrations: RegistrationLimit;
  readonly #hasher: PasswordHasher;
  /** Liveness heard by this tracker, ahead of what is written to KV. */
  readonly #live = new Map<string, { session: string; lastSeen: number; persistedAt: number }>();
  /** Sessions recently read from KV (revoked ones are dropped here at once). */
  readonly #sessionCache = new Map<string, { session: SessionRecord; until: number }>();
  /** Which sources each downloader may report on. */
  readonly #grants: ReportGrants;
  readonly #partial: PartialHolders;
  #index: { at: number; value: FileIndex } | undefined;
  #indexBuild: Promise<FileIndex> | undefined;
  #indexGeneration = 0;
  readonly #manifests = new Map<string, string[]>();
  #dummyHash: Promise<PasswordHash> | undefined;
  #issuer: Promise<TicketIssuer> | undefined;
  readonly #ticketTtlMs: number | undefined;

  /** Serves requests against `store`. */
  constructor(store: TrackerStore, options: TrackerServiceOptions = {}) {
    this.#store = store;
    this.#ticketTtlMs = options.ticketTtlMs;
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.#sessionTtlMs = options.sessionTtlMs ?? 24 * 3600_000;
    this.#now = options.now ?? Date.now;
    this.#trustAnnouncedHosts = options.trustAnnouncedHosts ?? false;
    this.#throttle = new LoginThrottle({ now: this.#now });
    this.#registrations = new RegistrationLimit({
      now: this.#now,
      ...(options.registrationsPerAddress ? { perAddress: options.registrationsPerAddress } : {}),
    });
    this.#hasher = options.hasher ?? new ScryptHasher();
    this.#grants = new ReportGrants(this.#now);
    this.#partial = new PartialHolders(this.#now);
  }

  /** Handles one checked request (anything but `hello`) and returns its reply. */
  async handle(request: TrackerRequest, context: RequestContext = {}): Promise<Reply> {
    switch (request.type) {
      case "hello":
        return { type: "hello", version: request.version, server: "tracker" };
      case "register":
        return await this.#register(request.username, request.password, context);
      case "login":
        return await this.#login(request.username, request.password, context);
      case "logout":
        return await this.#logout(request.token, request);
      case "sessions":
        return await this.#sessions(request.token);
      case "whoami":
        return await this.#whoami(request.token);
      case "announce": {
        const { user, tokenHash } = await this.#authenticate(request.token);
        for (const file of request.files) {
          try {
            checkManifest(file);
          } catch (error) {
            if (!(error instanceof ProtocolError)) throw error;
            throw new TrackerError("INVALID", error.message);
          }
        }
        // The peer chooses its port; its host is where the connection comes from, unless the
        // tracker was told to trust announced hosts (NAT, proxies).
        const host = this.#trustAnnouncedHosts || context.address === undefined
          ? request.host
          : context.address;
        await this.#store.putPeer(user, {
          host,
          port: request.port,
          lastSeen: this.#now(),
          online: true,
          session: tokenHash,
          ...(request.tls ? { tls: true } : {}),
        });
        await this.#store.putShares(user, request.files, request.replace, this.#now());
        this.#live.set(user, {
          session: tokenHash,
          lastSeen: this.#now(),
          persistedAt: this.#now(),
        });
        this.#dropIndex();
        return { type: "ok", host, port: request.port };
      }
      case "progress": {
        const { user } = await this.#authenticate(request.token);
        const host = this.#trustAnnouncedHosts || context.address === undefined
          ? request.host
          : context.address;
        const { name, id, port, tls, progress, have, withdraw } = request;
        const holder = {
          user,
          host,
          port,
          progress,
          ...(tls ? { tls } : {}),
          ...(have ? { have } : {}),
        };
        this.#partial.update(name, id, holder, withdraw);
        return { type: "ok" };
      }
      case "heartbeat": {
        const { user, tokenHash } = await this.#authenticate(request.token);
        await this.#heartbeat(user, tokenHash);
        return { type: "ok" };
      }
      case "list": {
        await this.#authenticate(request.token);
        return await this.#list(request);
      }
      case "holders": {
        const { user } = await this.#authenticate(request.token);
        const page = await this.#holders(request.name, request.id, request.cursor);
        this.#grants.grant(
          user,
          request.id,
          page.peers.map((p) => p.user).filter((u) => u !== user),
        );
        return { type: "holders", ...page };
      }
      case "details": {
        const { user } = await this.#authenticate(request.token);
        const details = await this.#details(request.name, request);
        // The downloader may now report on these sources for this version, once each.
        const sources = details.peers.map((p) => p.user).filter((u) => u !== user);
        this.#grants.grant(user, details.id, sources);
        if (request.key === undefined) return { type: "details", ...details };
        // A read ticket for this version, bound to the downloader's key (docs/security.md).
        const ticket = await (await this.#ticketIssuer()).issue({
          user,
          version: details.id,
          key: request.key,
        });
        return { type: "details", ...details, ticket };
      }
      case "locate": {
        await this.#authenticate(request.token);
        const peer = await this.#store.getPeer(request.user);
        if (!peer) {
          throw new TrackerError(
            "NOT_FOUND",
            `Cannot locate peer: ${request.user} has never announced`,
          );
        }
        return {
          type: "peer",
          user: request.user,
          host: peer.host,
          port: peer.port,
          online: this.#isOnline(request.user, peer),
          ...(peer.tls ? { tls: true } : {}),
        };
      }
      case "report": {
        const { user } = await this.#authenticate(request.token);
        if (request.source === user) {
          throw new TrackerError(
            "FORBIDDEN",
            "Cannot accept report: a peer cannot report on itself",
          );
        }
        const holders = await this.#store.listHolders(request.name);
        const holder = holders.find((h) => h.id === request.id && h.user === request.source) ??
          this.#partial.holderRow(holders, request.name, request.id, request.source);
        if (!holder || holder.sha256 !== request.sha256) {
          throw new TrackerError(
            "NOT_FOUND",
            `Cannot accept report: ${request.source} does not share that version of ${request.name}`,
          );
        }
        if (request.bytes > holder.size) {
          throw new TrackerError(
            "INVALID",
            `Cannot accept report: ${request.bytes} bytes is more than the file's ${holder.size}`,
          );
        }
        // A download counts in proportion to the share of the file the source delivered, and only
        // against a grant from a recent `details`; one outcome per (downloader, source, version)
        // per day counts, so repeating a report moves nothing.
        const share = holder.size === 0 ? 1 : request.bytes / holder.size;
        if (!this.#grants.use(user, request.id, request.source)) {
          throw new TrackerError(
            "FORBIDDEN",
            `Cannot accept report: ${request.source} was not handed to you for ${request.name} in a recent details, or was reported already`,
          );
        }
        const counted = await this.#store.countOutcome(
          {
            downloader: user,
            source: request.source,
            id: request.id,
            kind: request.ok ? "downloads" : "failures",
          },
          request.ok ? share : 1,
          this.#now(),
        );
        // Not counted: a transfer of this version from that source counted for this downloader in
        // the last day. Not an error: downloading a file twice is no mistake.
        return counted ? { type: "ok" } : { type: "ok", counted: false };
      }
    }
  }

  /**
   * Cheap refusals first: a bad password, too many registrations from this address, a taken name
   * (in any case); only then the scrypt hash, which may answer `BUSY`.
   */
  async #register(username: string, password: string, context: RequestContext): Promise<Reply> {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new TrackerError(
        "INVALID",
        `Cannot register: password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      );
    }
    if (context.address !== undefined) {
      const wait = this.#registrations.take(context.address);
      if (wait > 0) {
        throw new TrackerError(
          "RATE_LIMITED",
          `Cannot register: too many registrations from your address; try again in ${
            Math.ceil(wait / 1000)
          } s`,
        );
      }
    }
    const taken = async () => {
      const existing = await this.#store.getUser(username);
      if (!existing) return;
      const as = existing.name && existing.name !== username
        ? ` (as ${existing.name}; names are compared without regard to case)`
        : "";
      throw new TrackerError("USER_EXISTS", `Cannot register: the name ${username} is taken${as}`);
    };
    await taken();
    const record = { password: await this.#hash(password), createdAt: this.#now() };
    if (!(await this.#store.createUser(username, record))) {
      await taken(); // taken while we hashed
      throw new TrackerError("USER_EXISTS", `Cannot register: the name ${username} is taken`);
    }
    return { type: "ok" };
  }

  /**
   * Logs in as `username` in any case; the session's user is the name as registered. Failures
   * slow further attempts at that name from that address, and from that address at all, never
   * from elsewhere.
   */
  async #login(username: string, password: string, context: RequestContext): Promise<Reply> {
    // Throttled whether or not the user exists.
    const wait = this.#throttle.retryAfter(username, context.address);
    if (wait > 0) {
      throw new TrackerError(
        "RATE_LIMITED",
        `Cannot log in: too many failed attempts from your address; try again in ${
          Math.ceil(wait / 1000)
        } s`,
      );
    }
    const user = await this.#store.getUser(username);
    // Hash even for unknown users so the reply time does not tell whether the user exists.
    const ok = await this.#verify(password, user?.password ?? await this.#dummy());
    if (!user || !ok) {
      this.#throttle.fail(username, context.address);
      throw new TrackerError("AUTH_FAILED", "Cannot log in: wrong username or password");
    }
    this.#throttle.succeed(username, context.address);
    const name = user.name ?? username;
    const token = newToken();
    const now = this.#now();
    const expiresAt = now + this.#sessionTtlMs;
    await this.#store.putSession(
      hashToken(token),
      {
        user: name,
        expiresAt,
        createdAt: now,
        ...(context.agent ? { agent: context.agent } : {}),
      },
      now,
    );
    const trackerKey = (await this.#ticketIssuer()).publicKey;
    return {
      type: "session",
      token,
      user: name,
      expiresAt,
      heartbeatMs: this.heartbeatMs,
      trackerKey,
    };
  }

  /** The ticket signer, loaded (or created) from the store on first use. */
  #ticketIssuer(): Promise<TicketIssuer> {
    this.#issuer ??= TicketIssuer.load(this.#store, {
      now: this.#now,
      ...(this.#ticketTtlMs !== undefined ? { ttlMs: this.#ticketTtlMs } : {}),
    }).catch((error) => {
      this.#issuer = undefined; // try again on the next request
      throw error;
    });
    return this.#issuer;
  }

  /** A hash to check unknown users' passwords against, made once (again if that was refused). */
  #dummy(): Promise<PasswordHash> {
    this.#dummyHash ??= this.#hash("p2pfs dummy password").catch((error) => {
      this.#dummyHash = undefined;
      throw error;
    });
    return this.#dummyHash;
  }

  async #hash(password: string): Promise<PasswordHash> {
    try {
      return await this.#hasher.hash(password);
    } catch (error) {
      throw busy(error);
    }
  }

  async #verify(password: string, stored: PasswordHash): Promise<boolean> {
    try {
      return await this.#hasher.verify(password, stored);
    } catch (error) {
      throw busy(error);
    }
  }

  async #logout(token: string, options: { all?: boolean; session?: string }): Promise<Reply> {
    const { user, tokenHash } = await this.#authenticate(token);
    let targets = [tokenHash];
    if (options.all || options.session) {
      const sessions = await this.#store.listSessions(user, this.#now());
      targets = [...sessions.keys()].filter((hash) =>
        options.all || hash.startsWith(options.session!)
      );
      if (targets.length === 0) {
        throw new TrackerError("NOT_FOUND", `Cannot log out: no session ${options.session}`);
      }
    }
    const peer = await this.#store.getPeer(user);
    for (const hash of targets) {
      await this.#store.deleteSession(hash);
      this.#sessionCache.delete(hash);
      if (peer && peer.session === hash) {
        await this.#store.putPeer(user, { ...peer, online: false });
        this.#live.delete(user);
        this.#dropIndex();
      }
    }
    return { type: "ok", revoked: targets.length };
  }

  async #whoami(token: string): Promise<Reply> {
    const { user } = await this.#authenticate(token);
    const [peer, stats, sessions, index] = await Promise.all([
      this.#store.getPeer(user),
      this.#store.getStats(user),
      this.#store.listSessions(user, this.#now()),
      this.#holderIndex(),
    ]);
    let files = 0;
    let bytes = 0;
    for (const version of index.versions) {
      if (!version.users.includes(user)) continue;
      files++;
      bytes += version.size;
    }
    return {
      type: "me",
      user,
      sessions: sessions.size,
      ...(peer
        ? {
          peer: {
            host: peer.host,
            port: peer.port,
            online: this.#isOnline(user, peer),
            ...(peer.tls ? { tls: true } : {}),
          },
        }
        : {}),
      files,
      bytes,
      ...stats,
    };
  }

  async #sessions(token: string): Promise<Reply> {
    const { user, tokenHash } = await this.#authenticate(token);
    const sessions = await this.#store.listSessions(user, this.#now());
    return {
      type: "sessions",
      sessions: [...sessions].map(([hash, s]) => ({
        id: hash.slice(0, 12),
        createdAt: s.createdAt ?? 0,
        expiresAt: s.expiresAt,
        ...(s.agent ? { agent: s.agent } : {}),
        current: hash === tokenHash,
      })).sort((a, b) => a.createdAt - b.createdAt),
    };
  }

  async #authenticate(token: string): Promise<{ user: string; tokenHash: string }> {
    const tokenHash = hashToken(token);
    const now = this.#now();
    const cached = this.#sessionCache.get(tokenHash);
    let session = cached && cached.until > now && cached.session.expiresAt > now
      ? cached.session
      : null;
    if (!session) {
      session = await this.#store.getSession(tokenHash, now);
      if (session) {
        remember(this.#sessionCache, tokenHash, { session, until: now + SESSION_CACHE_MS });
      }
    }
    if (!session) {
      throw new TrackerError("BAD_TOKEN", "Cannot accept request: session is unknown or expired");
    }
    return { user: session.user, tokenHash };
  }

  /**
   * Online: not logged out, and heard from within 3 heartbeat intervals — by the stored record,
   * or by a heartbeat this tracker took since (kept in memory, written to KV at most once an
   * interval).
   */
  #isOnline(user: string, peer: PeerRecord): boolean {
    if (!peer.online) return false;
    const live = this.#live.get(user);
    const lastSeen = live && live.session === peer.session
      ? Math.max(live.lastSeen, peer.lastSeen)
      : peer.lastSeen;
    return this.#now() - lastSeen <= MISSED_HEARTBEATS_OFFLINE * this.heartbeatMs;
  }

  async #heartbeat(user: string, tokenHash: string): Promise<void> {
    const now = this.#now();
    let live = this.#live.get(user);
    if (!live || live.session !== tokenHash) {
      const peer = await this.#store.getPeer(user);
      if (!peer || peer.session !== tokenHash) return; // not the session that announced
      live = { session: tokenHash, lastSeen: peer.lastSeen, persistedAt: peer.lastSeen };
      this.#live.set(user, live);
    }
    live.lastSeen = now;
    if (now - live.persistedAt < this.heartbeatMs) return;
    live.persistedAt = now;
    const peer = await this.#store.getPeer(user);
    if (peer && peer.session === tokenHash) {
      await this.#store.putPeer(user, { ...peer, lastSeen: now, online: true });
    }
  }

  /**
   * Every shared version with its holders, grouped and sorted by name. Read from KV at most once a
   * second; while a newer one is being read, the last one answers (so a busy tracker does not
   * rebuild it for every request). Local announces and logouts drop it, so they show at once.
   */
  async #holderIndex(): Promise<FileIndex> {
    const now = this.#now();
    const fresh = this.#index && now - this.#index.at < INDEX_CACHE_MS;
    if (this.#index && fresh) return this.#index.value;
    if (!this.#indexBuild) {
      const generation = this.#indexGeneration;
      const build = Promise.all([this.#store.listHolders(), this.#store.listPeers()])
        .then(([holders, peers]) => {
          const value = buildFileIndex(holders, peers);
          // A build that overlapped a local change may have missed it: answer, do not keep.
          if (generation === this.#indexGeneration) this.#index = { at: this.#now(), value };
          return value;
        })
        .finally(() => {
          if (this.#indexBuild === build) this.#indexBuild = undefined;
        });
      this.#indexBuild = build;
    }
    return this.#index ? this.#index.value : await this.#indexBuild;
  }

  /** A manifest's chunk hashes: content-addressed, so once read they never change. */
  async #chunkHashes(id: string): Promise<string[] | null> {
    const cached = this.#manifests.get(id);
    if (cached) return cached;
    const hashes = await this.#store.getChunkHashes(id);
    if (hashes) {
      this.#manifests.set(id, hashes);
      while (this.#manifests.size > MANIFEST_CACHE_ENTRIES) {
        this.#manifests.delete(this.#manifests.keys().next().value!);
      }
    }
    return hashes;
  }

  /**
   * Removes up to `limit` manifests that no holder has announced for a day (see
   * {@link TrackerStore.collectManifests}); the tracker calls it now and then.
   */
  async collectManifests(limit = 100): Promise<number> {
    return await this.#store.collectManifests(this.#now(), limit);
  }

  /** Forgets the holder table after a local change, so the next `list` sees it. */
  #dropIndex(): void {
    this.#index = undefined;
    this.#indexBuild = undefined;
    this.#indexGeneration++;
  }

  /**
   * One page of `list`: versions in (name, id) order, from after `cursor` (the last page's
   * `next`), at most `limit` and {@link MAX_PAGE_BYTES} of them.
   */
  async #list(
    request: { search?: string; all?: boolean; cursor?: string; limit?: number },
  ): Promise<Reply> {
    const index = await this.#holderIndex();
    const needle = (request.search ?? "").toLowerCase();
    const all = request.all ?? false;
    const cursor = request.cursor;
    const from = cursor === undefined ? 0 : startAfter(
      index.versions,
      { id: cursor.slice(0, 64), name: cursor.slice(64) },
      (v, c) => compareText(v.name, c.name) || compareText(v.id, c.id),
    );
    const online = (user: string) => {
      const peer = index.peers.get(user);
      return peer !== undefined && this.#isOnline(user, peer);
    };
    function* matching(): Generator<FileSummary> {
      for (let i = from; i < index.versions.length; i++) {
        const version = index.versions[i]!;
        if (needle && !version.lowerName.includes(needle)) continue;
        const sources = version.users.filter(online).length;
        if (!all && sources === 0) continue;
        const { name, size, sha256, id } = version;
        yield { name, size, sha256, id, sources };
      }
    }
    const page = takePage(matching(), request.limit ? { maxEntries: request.limit } : {});
    const last = page.entries.at(-1);
    return {
      type: "files",
      files: page.entries,
      ...(page.more && last ? { next: `${last.id}${last.name}` } : {}),
    };
  }

  /** One page of the holders of version `id` of `name`, by user name, after `cursor`. */
  async #holders(
    name: string,
    id: string,
    cursor: string | undefined,
  ): Promise<{ peers: HolderInfo[]; next?: string }> {
    const index = await this.#holderIndex();
    const holders = (index.holdersByName.get(name) ?? []).filter((h) => h.id === id)
      .sort((a, b) => compareText(a.user, b.user));
    const from = cursor === undefined
      ? 0
      : startAfter(holders, cursor, (h, c) => compareText(h.user, c));
    const peers = index.peers;
    const rows = holders.slice(from, from + MAX_PAGE_ENTRIES).filter((h) => peers.has(h.user));
    const more = from + MAX_PAGE_ENTRIES < holders.length;
    // Downloads in progress that serve what they have come on the first page (see partial_holders).
    const partial = cursor === undefined ? this.#partial.list(name, id, holders) : [];
    // Counts are read for at most one page's worth of holders.
    const stats = await this.#store.getStatsMany(
      [...rows.map((h) => h.user), ...partial.map((h) => h.user)],
    );
    const live = this.#live;
    const isOnline = (user: string, peer: PeerRecord) => this.#isOnline(user, peer);
    function* infos(): Generator<HolderInfo> {
      for (const holder of rows) {
        const peer = peers.get(holder.user)!;
        yield {
          user: holder.user,
          host: peer.host,
          port: peer.port,
          online: isOnline(holder.user, peer),
          ...(peer.tls ? { tls: true } : {}),
          lastSeen: Math.max(peer.lastSeen, live.get(holder.user)?.lastSeen ?? 0),
          ...(stats.get(holder.user) ?? { downloads: 0, failures: 0 }),
          complete: true,
          progress: 1,
        };
      }
      yield* partialHolderInfos(partial, stats);
    }
    const page = takePage(infos());
    const last = page.entries.at(-1) ?? rows.at(-1);
    return {
      peers: page.entries,
      ...((page.more || more) && last ? { next: last.user } : {}),
    };
  }

  /**
   * The version of `name` asked for (`sha256` exactly, or `version`, a prefix of an id or a
   * SHA-256), else the one `get` would choose: the most online holders, then the most downloads,
   * then the most holders, then the lowest id.
   */
  async #details(
    name: string,
    ask: { sha256?: string; version?: string },
  ): Promise<Omit<FileDetails, "type">> {
    // Holders and their records come from the holder table (at most a second old, and dropped at
    // once by local announces and logouts); counts are read fresh.
    const index = await this.#holderIndex();
    const rows = index.holdersByName.get(name) ?? [];
    if (rows.length === 0) {
      throw new TrackerError("NOT_FOUND", `Cannot find file: ${name} is not shared`);
    }
    const peers = index.peers;
    const online = (user: string) => {
      const peer = peers.get(user);
      return peer !== undefined && this.#isOnline(user, peer);
    };
    const byId = new Map<string, HolderRow[]>();
    for (const row of rows) {
      const same = byId.get(row.id);
      if (same) same.push(row);
      else byId.set(row.id, [row]);
    }
    const downloads = await this.#store.getVersionDownloads([...byId.keys()]);
    const versions: VersionInfo[] = [...byId].map(([id, holders]) => ({
      id,
      sha256: holders[0]!.sha256,
      size: holders[0]!.size,
      chunkSize: holders[0]!.chunkSize,
      holders: holders.length,
      online: holders.filter((h) => online(h.user)).length,
      downloads: downloads.get(id) ?? 0,
    })).sort((a, b) =>
      b.online - a.online || b.downloads - a.downloads || b.holders - a.holders ||
      (a.id < b.id ? -1 : 1)
    );
    const chosen = pickVersion(versions, ask);
    if (!chosen) {
      const wanted = ask.sha256 ?? ask.version;
      throw new TrackerError(
        "NOT_FOUND",
        `Cannot find file: ${name} has no version ${wanted} (it has ${
          versions.map((v) => v.id.slice(0, 12)).join(", ")
        })`,
      );
    }
    const chunkHashes = await this.#chunkHashes(chosen.id);
    if (!chunkHashes) {
      throw new TrackerError("NOT_FOUND", `Cannot find file: ${name} has no manifest`);
    }
    const page = await this.#holders(name, chosen.id, undefined);
    return {
      name,
      id: chosen.id,
      size: chosen.size,
      sha256: chosen.sha256,
      chunkSize: chosen.chunkSize,
      chunkHashes,
      peers: page.peers,
      versions: versions.slice(0, MAX_VERSIONS_LISTED),
      ...(page.next ? { next: page.next } : {}),
    };
  }
}

/** A full hash queue as the `BUSY` refusal; any other error as it is. */
function busy(error: unknown): unknown {
  return error instanceof HashBusyError ? new TrackerError("BUSY", error.message) : error;
}

/**
 * The version asked for, from `versions` in order of preference: the first whose SHA-256 is
 * `sha256`, or whose id or SHA-256 starts with `version`; with neither, the first. A prefix that
 * matches several versions is refused as ambiguous.
 */
function pickVersion(
  versions: VersionInfo[],
  ask: { sha256?: string; version?: string },
): VersionInfo | undefined {
  if (ask.sha256) return versions.find((v) => v.sha256 === ask.sha256);
  const prefix = ask.version;
  if (!prefix) return versions[0];
  const matches = versions.filter((v) => v.id.startsWith(prefix) || v.sha256.startsWith(prefix));
  if (matches.length > 1) {
    throw new TrackerError(
      "INVALID",
      `Cannot choose a version: ${prefix} matches ${matches.length} versions (${
        matches.map((v) => v.id.slice(0, 12)).join(", ")
      }); give more digits`,
    );
  }
  return matches[0];
}

/** One shared version of a file and who holds it. */
interface IndexedVersion {
  name: string;
  lowerName: string;
  size: number;
  sha256: string;
  id: string;
  users: string[];
}

/** The table `list` and `details` answer from. */
interface FileIndex {
  versions: IndexedVersion[];
  holdersByName: Map<string, HolderRow[]>;
  peers: Map<string, PeerRecord>;
}

/** Groups holder rows by version and sorts them by name (code-unit order, no locale cost). */
function buildFileIndex(holders: HolderRow[], peers: Map<string, PeerRecord>): FileIndex {
  const byVersion = new Map<string, IndexedVersion>();
  const holdersByName = new Map<string, HolderRow[]>();
  for (const holder of holders) {
    const sameName = holdersByName.get(holder.name);
    if (sameName) sameName.push(holder);
    else holdersByName.set(holder.name, [holder]);
    const key = `${holder.name}\u0000${holder.id}`;
    let version = byVersion.get(key);
    if (!version) {
      version = {
        name: holder.name,
        lowerName: holder.name.toLowerCase(),
        size: holder.size,
        sha256: holder.sha256,
        id: holder.id,
        users: [],
      };
      byVersion.set(key, version);
    }
    version.users.push(holder.user);
  }
  const versions = [...byVersion.values()].sort((a, b) =>
    compareText(a.name, b.name) || compareText(a.id, b.id)
  );
  return { versions, holdersByName, peers };
}
