/**
 * What the tracker does with each request, independent of sockets. {@link TrackerService} wires
 * four parts over the roles of one store ({@link TrackerStores}) — {@link Accounts} (accounts, sessions, back-off),
 * {@link Liveness} (heartbeats, the online rule), {@link FileIndex} (announce, list, holders,
 * details, locate) and {@link Reports} (grants and transfer counts) — and dispatches each checked
 * request through one typed handler table keyed by its `type`.
 *
 * A service keeps nothing another tracker needs: run as many as needed over one KV (see the
 * store's module doc). {@link TrackerService.start} starts its background work (reading the change
 * log, writing heartbeats, grants and counters in batches); a service not started does that work
 * on demand, request by request, which suits tests and in-process use.
 *
 * @module
 */
import { DEFAULT_HEARTBEAT_MS, type TrackerRequest } from "../protocol/mod.ts";
import { Accounts, type RegistrationPolicy } from "./accounts.ts";
import { FileIndex } from "./file_index.ts";
import type { HolderIndex } from "./holder_index.ts";
import { IndexFollower } from "./index_follower.ts";
import { Liveness } from "./liveness.ts";
import { Admin, DEFAULT_AUDIT_DAYS } from "./admin.ts";
import { type PasswordHasher, ScryptHasher } from "./password.ts";
import { PARTIAL_HOLDER_FLUSH_MS, PARTIAL_HOLDER_SWEEP_MS } from "./partial_holders.ts";
import { GRANT_FLUSH_MS } from "./report_grants.ts";
import { Reports } from "./reports.ts";
import type { TrackerStores } from "./store.ts";
import { type Reply, type RequestContext, TrackerError } from "./tracker_error.ts";

export { MISSED_HEARTBEATS_OFFLINE } from "./liveness.ts";
export { busy, TrackerError } from "./tracker_error.ts";
export type { Reply, RequestContext, TrackerErrorCode } from "./tracker_error.ts";

/** Settings of a {@link TrackerService}. */
export interface TrackerServiceOptions {
  /** Who may register (`--registration`). Default `open`. */
  registration?: RegistrationPolicy;
  /** Days the audit log keeps admin actions (`--audit-days`). */
  auditDays?: number;
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
  /** This tracker's name in the cluster's counters. Default a random one. */
  trackerId?: string;
}

/** How often a started service adds its request counts to the store (and says it is alive). */
export const COUNTER_FLUSH_MS = 1_000;

/**
 * A tracker that has not flushed its counters for this long counts as stopped: it leaves the
 * dashboard's Trackers table and the cluster's sums (a clean stop leaves them at once).
 */
export const TRACKER_SILENT_MS = 5 * COUNTER_FLUSH_MS;

/** One handler per request type, each given the request of its own type. */
type HandlerTable = {
  [K in TrackerRequest["type"]]: (
    request: Extract<TrackerRequest, { type: K }>,
    context: RequestContext,
  ) => Promise<Reply>;
};

/**
 * The tracker's request handling over the roles of one store ({@link TrackerStores}).
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
  /** This tracker's name in the cluster's counters. */
  readonly trackerId: string;
  /** Accounts and sessions. */
  readonly accounts: Accounts;
  /** Heartbeats and the online rule. */
  readonly liveness: Liveness;
  /** Announce, list, holders, details, locate. */
  readonly files: FileIndex;
  /** Report grants and counts. */
  readonly reports: Reports;
  /** Operators' actions. */
  readonly admin: Admin;
  readonly #store: TrackerStores;
  readonly #now: () => number;
  readonly #follower: IndexFollower;
  readonly #handlers: HandlerTable;
  readonly #counts = new Map<string, number>();
  #auditMs: number;
  #timers: ReturnType<typeof setInterval>[] = [];
  /** Whether the background work runs (then counter flushes also say this tracker is alive). */
  #started = false;

  /** Serves requests against `stores`. */
  constructor(stores: TrackerStores, options: TrackerServiceOptions = {}) {
    this.#store = stores;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#now = options.now ?? Date.now;
    this.trackerId = options.trackerId ?? crypto.randomUUID().slice(0, 8);
    const now = this.#now;
    this.#follower = new IndexFollower(stores, {
      onRevoked: (hashes) => this.accounts.revoked(hashes),
      onPartial: (updates) => this.files.partial.apply(updates),
    });
    this.accounts = new Accounts(stores, {
      sessionTtlMs: options.sessionTtlMs ?? 24 * 3600_000,
      now,
      hasher: options.hasher ?? new ScryptHasher(),
      heartbeatMs: this.heartbeatMs,
      logStaleness: () => this.#follower.staleness,
      ...(options.registrationsPerAddress
        ? { registrationsPerAddress: options.registrationsPerAddress }
        : {}),
      ...(options.ticketTtlMs !== undefined ? { ticketTtlMs: options.ticketTtlMs } : {}),
      ...(options.registration ? { registration: options.registration } : {}),
    });
    this.liveness = new Liveness(stores.index, this.#follower, {
      heartbeatMs: this.heartbeatMs,
      now,
    });
    this.files = new FileIndex(stores, this.#follower, this.liveness, {
      now,
      trustAnnouncedHosts: options.trustAnnouncedHosts ?? false,
    });
    this.reports = new Reports(stores.counts, this.files, now);
    this.#auditMs = (options.auditDays ?? DEFAULT_AUDIT_DAYS) * 24 * 3600_000;
    this.admin = new Admin(stores.accounts, this.accounts, {
      now,
      ...(options.auditDays ? { auditMs: options.auditDays * 24 * 3600_000 } : {}),
      offline: (user, ended) => this.files.offline(user, ended),
      seen: async (user) => {
        const peer = (await this.files.index()).peer(user);
        return peer
          ? { lastSeen: peer.lastSeen ?? null, online: this.liveness.isOnline(peer) }
          : { lastSeen: null, online: false };
      },
      counts: (users) => stores.counts.getStatsMany(users),
    });
    this.#handlers = this.#table();
  }

  /** Handles one checked request and returns its reply. */
  async handle(request: TrackerRequest, context: RequestContext = {}): Promise<Reply> {
    const handler = this.#handlers[request.type] as (
      request: TrackerRequest,
      context: RequestContext,
    ) => Promise<Reply>;
    let outcome = "ok";
    try {
      return await handler(request, context);
    } catch (error) {
      outcome = error instanceof TrackerError ? error.code : "INTERNAL";
      throw error;
    } finally {
      const key = `${request.type}:${outcome}`;
      this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    }
  }

  /** The user of the session with this token hash, or null (cached like any request's). */
  userOf(tokenHash: string): Promise<string | null> {
    return this.accounts.userOf(tokenHash);
  }

  /** The holder index as this tracker answers from it. */
  index(): Promise<HolderIndex> {
    return this.files.index();
  }

  /**
   * Starts the background work: loads the index and reads the change log every 200 ms, writes
   * heartbeats, report and progress grants, partial holders and request counters in batches (the
   * counters also say this tracker is alive), sweeps out silent partial holders every few seconds.
   * Resolves once the index is loaded.
   */
  async start(onError: (error: unknown) => void = () => {}): Promise<void> {
    await this.#follower.catchUp();
    this.#follower.start();
    this.#started = true;
    await this.flushCounters().catch(onError);
    this.liveness.start(onError);
    this.#timers.push(
      setInterval(() => this.#flushGrants().catch(onError), GRANT_FLUSH_MS),
      setInterval(() => this.files.partial.sweep(), PARTIAL_HOLDER_SWEEP_MS),
      setInterval(() => this.files.partial.flush().catch(onError), PARTIAL_HOLDER_FLUSH_MS),
      setInterval(() => this.flushCounters().catch(onError), COUNTER_FLUSH_MS),
    );
  }

  /** Stops the background work and writes what is pending. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    const started = this.#started;
    this.#started = false;
    await this.#follower.stop();
    await this.liveness.stop();
    await this.#flushGrants().catch(() => {});
    await this.files.partial.flush().catch(() => {});
    await this.flushCounters().catch(() => {});
    if (started) await this.#store.counts.retireTracker(this.trackerId).catch(() => {});
  }

  /** Writes the report and progress grants waiting in memory to the store. */
  async #flushGrants(): Promise<void> {
    await Promise.all([this.reports.grants.flush(), this.files.progressGrants.flush()]);
  }

  /** Adds the requests counted since the last call to this tracker's counters in the store. */
  async flushCounters(): Promise<void> {
    if (this.#counts.size === 0 && !this.#started) return;
    const counts = new Map(this.#counts);
    this.#counts.clear();
    await this.#store.counts.addCounters(
      this.trackerId,
      counts,
      this.#started ? TRACKER_SILENT_MS : undefined,
    );
  }

  /**
   * Removes up to `limit` manifests that no holder has announced for a day (see
   * {@link IndexStore.collectManifests}); the tracker calls it now and then.
   */
  async collectManifests(limit = 100): Promise<number> {
    return await this.#store.index.collectManifests(this.#now(), limit);
  }

  /** The handler table: one entry per request type. */
  #table(): HandlerTable {
    const { accounts, liveness, files, reports } = this;
    // A session made with a password an operator set may only change it (and log out).
    const auth = async (token: string) => {
      const session = await accounts.authenticate(token);
      if (session.scope !== undefined) {
        throw new TrackerError(
          "FORBIDDEN",
          `Cannot do that: this token is for ${session.scope} only`,
        );
      }
      if (session.mustChangePassword) {
        throw new TrackerError(
          "FORBIDDEN",
          "Cannot do that yet: an operator set your password; change it first with 'p2pfs-peer passwd'",
        );
      }
      return session;
    };
    return {
      hello: (request) =>
        Promise.resolve({ type: "hello", version: request.version, server: "tracker" }),
      register: (r, context) => accounts.register(r.username, r.password, context, r.invite),
      admin: (r) => this.admin.handle(r.token, r),
      login: (r, context) => accounts.login(r.username, r.password, context, r.remember === true),
      resume: (r) => accounts.resume(r.token),
      passwd: async (r, context) => {
        const { user, ended, reply } = await accounts.passwd(r.token, r, context);
        if (ended.length > 0) await files.offline(user, ended);
        return reply;
      },
      logout: async (r) => {
        const { user, ended, reply } = await accounts.logout(r.token, r);
        await files.offline(user, ended);
        if (ended) files.partial.forget(user);
        return reply;
      },
      sessions: (r) => accounts.sessions(r.token),
      whoami: (r) => this.#whoami(r.token),
      announce: async (r, context) => {
        const { user, tokenHash } = await auth(r.token);
        return await files.announce(user, tokenHash, r, context);
      },
      progress: async (r, context) => {
        const { user } = await auth(r.token);
        await files.progress(user, r, context);
        return { type: "ok" };
      },
      heartbeat: async (r) => {
        const { user, tokenHash } = await auth(r.token);
        await liveness.beat(user, tokenHash);
        return { type: "ok" };
      },
      list: async (r) => {
        await auth(r.token);
        return await files.list(r);
      },
      holders: async (r) => {
        const { user } = await auth(r.token);
        const page = await files.holders(r.name, r.id, r.cursor);
        reports.grant(user, r.id, page.peers.map((p) => p.user));
        return { type: "holders", ...page };
      },
      details: async (r) => {
        const { user } = await auth(r.token);
        const details = await files.details(r.name, r);
        // The downloader may now report on these sources for this version, once each, and tell
        // the tracker it serves what it has of this version (progress).
        reports.grant(user, details.id, details.peers.map((p) => p.user));
        files.grantProgress(user, r.name, details.id);
        if (r.key === undefined) return { type: "details", ...details };
        // A read ticket for this version, bound to the downloader's key (docs/security.md).
        const issuer = await accounts.ticketIssuer();
        const ticket = await issuer.issue({ user, version: details.id, key: r.key });
        return { type: "details", ...details, ticket };
      },
      locate: async (r) => {
        await auth(r.token);
        return await files.locate(r.user);
      },
      report: async (r) => {
        const { user } = await auth(r.token);
        const reply = await reports.report(user, r);
        // Who downloaded what from whom, for the admins (kept --audit-days).
        await this.#store.counts.auditTransfer({
          at: this.#now(),
          downloader: user,
          source: r.source,
          name: r.name,
          id: r.id ?? "",
          ok: r.ok,
          bytes: r.bytes ?? 0,
          ...(r.reason ? { reason: r.reason } : {}),
        }, this.#auditMs).catch(() => {});
        return reply;
      },
    };
  }

  async #whoami(token: string): Promise<Reply> {
    const { user } = await this.accounts.authenticate(token);
    const [stats, sessions, index] = await Promise.all([
      this.#store.counts.getStats(user),
      this.#store.accounts.listSessions(user, this.#now()),
      this.files.index(),
    ]);
    const peer = index.peer(user) ?? await this.#store.index.getPeer(user);
    const shares = index.sharesOf(user);
    return {
      type: "me",
      user,
      sessions: sessions.size,
      ...(peer
        ? {
          peer: {
            host: peer.host,
            port: peer.port,
            online: this.liveness.isOnline(peer),
            ...(peer.tls ? { tls: true } : {}),
          },
        }
        : {}),
      files: shares.length,
      bytes: shares.reduce((sum, row) => sum + row.size, 0),
      ...stats,
    };
  }
}
