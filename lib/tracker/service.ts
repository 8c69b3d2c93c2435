/**
 * What the tracker does with each request, independent of sockets: accounts, sessions, the file
 * index, liveness and transfer counts. {@link TrackerService.handle} takes a checked request and
 * returns the reply, or throws a {@link TrackerError}.
 *
 * @module
 */
import {
  type FileDetails,
  type FileSummary,
  type HolderInfo,
  manifestId,
  MIN_PASSWORD_LENGTH,
  type TrackerRequest,
} from "../protocol/mod.ts";
import { hashPassword, type PasswordHash, verifyPassword } from "./password.ts";
import { ReportGrants } from "./report_grants.ts";
import type { HolderRow, PeerRecord, SessionRecord, TrackerStore } from "./store.ts";
import { LoginThrottle } from "./login_throttle.ts";
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
  | "RATE_LIMITED";

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
  /** How long a read ticket opens new peer connections. Default `TICKET_TTL_MS` (10 min). */
  ticketTtlMs?: number;
}

/** Who sent a request: the connection's remote address and the agent it named in `hello`. */
export interface RequestContext {
  /** Remote IP address. */
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
  readonly #store: TrackerStore;
  readonly #sessionTtlMs: number;
  readonly #now: () => number;
  readonly #throttle: LoginThrottle;
  /** Liveness heard by this tracker, ahead of what is written to KV. */
  readonly #live = new Map<string, { session: string; lastSeen: number; persistedAt: number }>();
  /** Sessions recently read from KV (revoked ones are dropped here at once). */
  readonly #sessionCache = new Map<string, { session: SessionRecord; until: number }>();
  /** Which sources each downloader may report on. */
  readonly #grants: ReportGrants;
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
    this.#throttle = new LoginThrottle({ now: this.#now });
    this.#grants = new ReportGrants(this.#now);
  }

  /** Handles one checked request (anything but `hello`) and returns its reply. */
  async handle(request: TrackerRequest, context: RequestContext = {}): Promise<Reply> {
    switch (request.type) {
      case "hello":
        return { type: "hello", version: request.version, server: "tracker" };
      case "register":
        return await this.#register(request.username, request.password);
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
        await this.#store.putPeer(user, {
          host: request.host,
          port: request.port,
          lastSeen: this.#now(),
          online: true,
          session: tokenHash,
          ...(request.tls ? { tls: true } : {}),
        });
        await this.#store.putShares(user, request.files, request.replace);
        this.#live.set(user, {
          session: tokenHash,
          lastSeen: this.#now(),
          persistedAt: this.#now(),
        });
        this.#dropIndex();
        return { type: "ok" };
      }
      case "heartbeat": {
        const { user, tokenHash } = await this.#authenticate(request.token);
        await this.#heartbeat(user, tokenHash);
        return { type: "ok" };
      }
      case "list": {
        await this.#authenticate(request.token);
        return {
          type: "files",
          files: await this.#list(request.search ?? "", request.all ?? false),
        };
      }
      case "details": {
        const { user } = await this.#authenticate(request.token);
        const details = await this.#details(request.name, request.sha256);
        // The downloader may now report on these sources for this file, once each.
        const sources = details.peers.map((p) => p.user).filter((u) => u !== user);
        this.#grants.grant(user, details.sha256, sources);
        if (request.key === undefined) return { type: "details", ...details };
        // A read ticket for this version, bound to the downloader's key (docs/security.md).
        const version = manifestId(details);
        const ticket = await (await this.#ticketIssuer()).issue({
          user,
          version,
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
        const holder = holders.find((h) =>
          h.sha256 === request.sha256 && h.user === request.source
        );
        if (!holder) {
          throw new TrackerError(
            "NOT_FOUND",
            `Cannot accept report: ${request.source} does not share ${request.name}`,
          );
        }
        // A download counts in proportion to the share of the file the source delivered, and only
        // against a grant from a recent `details`, once: repeating a report counts nothing.
        const share = holder.size === 0 ? 1 : Math.min(1, request.bytes / holder.size);
        if (!this.#grants.use(user, request.sha256, request.source)) {
          throw new TrackerError(
            "FORBIDDEN",
            `Cannot accept report: ${request.source} was not handed to you for ${request.name} in a recent details, or was reported already`,
          );
        }
        await this.#store.addStat(
          request.source,
          request.ok ? "downloads" : "failures",
          request.ok ? share : 1,
        );
        return { type: "ok" };
      }
    }
  }

  async #register(username: string, password: string): Promise<Reply> {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new TrackerError(
        "INVALID",
        `Cannot register: password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      );
    }
    const record = { password: await hashPassword(password), createdAt: this.#now() };
    if (!(await this.#store.createUser(username, record))) {
      throw new TrackerError("USER_EXISTS", `Cannot register: the name ${username} is taken`);
    }
    return { type: "ok" };
  }

  async #login(username: string, password: string, context: RequestContext): Promise<Reply> {
    // Throttled by name and by address alike, whether or not the user exists.
    const keys = [`user:${username}`, ...(context.address ? [`addr:${context.address}`] : [])];
    const wait = this.#throttle.retryAfter(keys);
    if (wait > 0) {
      throw new TrackerError(
        "RATE_LIMITED",
        `Cannot log in: too many failed attempts; try again in ${Math.ceil(wait / 1000)} s`,
      );
    }
    const user = await this.#store.getUser(username);
    // Hash even for unknown users so the reply time does not tell whether the user exists.
    this.#dummyHash ??= hashPassword("p2pfs dummy password");
    const ok = await verifyPassword(password, user?.password ?? await this.#dummyHash);
    if (!user || !ok) {
      this.#throttle.fail(keys);
      throw new TrackerError("AUTH_FAILED", "Cannot log in: wrong username or password");
    }
    this.#throttle.succeed(keys);
    const token = newToken();
    const now = this.#now();
    const expiresAt = now + this.#sessionTtlMs;
    await this.#store.putSession(
      hashToken(token),
      {
        user: username,
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
      user: username,
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
  async #chunkHashes(sha256: string, chunkSize: number): Promise<string[] | null> {
    const key = `${sha256}:${chunkSize}`;
    const cached = this.#manifests.get(key);
    if (cached) return cached;
    const hashes = await this.#store.getChunkHashes(sha256, chunkSize);
    if (hashes) {
      this.#manifests.set(key, hashes);
      while (this.#manifests.size > MANIFEST_CACHE_ENTRIES) {
        this.#manifests.delete(this.#manifests.keys().next().value!);
      }
    }
    return hashes;
  }

  /** Forgets the holder table after a local change, so the next `list` sees it. */
  #dropIndex(): void {
    this.#index = undefined;
    this.#indexBuild = undefined;
    this.#indexGeneration++;
  }

  async #list(search: string, all: boolean): Promise<FileSummary[]> {
    const index = await this.#holderIndex();
    const needle = search.toLowerCase();
    const files: FileSummary[] = [];
    for (const version of index.versions) {
      if (needle && !version.lowerName.includes(needle)) continue;
      let sources = 0;
      for (const user of version.users) {
        const peer = index.peers.get(user);
        if (peer && this.#isOnline(user, peer)) sources++;
      }
      if (!all && sources === 0) continue;
      files.push({ name: version.name, size: version.size, sha256: version.sha256, sources });
    }
    // Already in name order; versions of one name: most sources first.
    return files.sort((a, b) => (a.name === b.name ? b.sources - a.sources : 0));
  }

  async #details(name: string, sha256: string | undefined): Promise<Omit<FileDetails, "type">> {
    // Holders and their records come from the holder table (at most a second old, and dropped at
    // once by local announces and logouts); counts are read fresh.
    const index = await this.#holderIndex();
    const exact = index.holdersByName.get(name) ?? [];
    const peers = index.peers;
    const version = sha256 ?? pickVersion(exact, (user) => {
      const peer = peers.get(user);
      return peer !== undefined && this.#isOnline(user, peer);
    });
    const chosen = exact.filter((h) => h.sha256 === version);
    const first = chosen[0];
    if (!first) throw new TrackerError("NOT_FOUND", `Cannot find file: ${name} is not shared`);
    const chunkHashes = await this.#chunkHashes(first.sha256, first.chunkSize);
    if (!chunkHashes) {
      throw new TrackerError("NOT_FOUND", `Cannot find file: ${name} has no manifest`);
    }
    const infos: HolderInfo[] = [];
    const stats = await this.#store.getStatsMany(chosen.map((h) => h.user));
    for (const holder of chosen) {
      const peer = peers.get(holder.user);
      if (!peer || holder.chunkSize !== first.chunkSize) continue;
      infos.push({
        user: holder.user,
        host: peer.host,
        port: peer.port,
        online: this.#isOnline(holder.user, peer),
        ...(peer.tls ? { tls: true } : {}),
        lastSeen: Math.max(peer.lastSeen, this.#live.get(holder.user)?.lastSeen ?? 0),
        ...(stats.get(holder.user) ?? { downloads: 0, failures: 0 }),
      });
    }
    return {
      name,
      size: first.size,
      sha256: first.sha256,
      chunkSize: first.chunkSize,
      chunkHashes,
      peers: infos,
    };
  }
}

/** The version of a file with the most online holders (then most holders, then lowest hash). */
function pickVersion(holders: HolderRow[], online: (user: string) => boolean): string | undefined {
  const score = new Map<string, [number, number]>();
  for (const h of holders) {
    const [on, all] = score.get(h.sha256) ?? [0, 0];
    score.set(h.sha256, [on + (online(h.user) ? 1 : 0), all + 1]);
  }
  return [...score.entries()].sort(([ha, [oa, aa]], [hb, [ob, ab]]) =>
    ob - oa || ab - aa || ha.localeCompare(hb)
  )[0]?.[0];
}

/** One shared version of a file and who holds it. */
interface IndexedVersion {
  name: string;
  lowerName: string;
  size: number;
  sha256: string;
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
    const key = `${holder.name}\u0000${holder.sha256}`;
    let version = byVersion.get(key);
    if (!version) {
      version = {
        name: holder.name,
        lowerName: holder.name.toLowerCase(),
        size: holder.size,
        sha256: holder.sha256,
        users: [],
      };
      byVersion.set(key, version);
    }
    version.users.push(holder.user);
  }
  const versions = [...byVersion.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  return { versions, holdersByName, peers };
}
