/**
 * Accounts and sessions: `register`, `login` (and `resume` of a kept session), `logout`,
 * `sessions`, `passwd`, and checking a request's token. Everything that must agree between trackers is in the store: accounts, sessions, login
 * back-off and registration buckets. Sessions are cached here; a logout on any tracker reaches
 * every cache through the change log ({@link Accounts.revoked}), and a cache entry is trusted only
 * while this tracker's log reader is less than {@link REVOCATION_MS} behind.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";
import { MIN_PASSWORD_LENGTH, STORED_SESSION_TTL_MS } from "../protocol/mod.ts";
import { kvFailureStore, LoginThrottle } from "./login_throttle.ts";
import type { PasswordHash, PasswordHasher } from "./password.ts";
import { RegistrationLimit } from "./registration_limit.ts";
import type { AccountStore, SessionRecord } from "./account_store.ts";
import type { TrackerStores } from "./store.ts";
import type { TicketKeyStore } from "./ticket_key_store.ts";
import { TicketIssuer } from "./ticket_issuer.ts";
import { hashToken, newToken } from "./token.ts";
import { busy, type Reply, type RequestContext, TrackerError } from "./tracker_error.ts";

/** Who may register an account (`p2pfs-tracker --registration`). */
export type RegistrationPolicy = "open" | "invite" | "closed";

/** A logout on one tracker stops the token on every tracker within this long. */
export const REVOCATION_MS = 1_000;

/** How long a session read from KV is kept (revocations arrive sooner, through the log). */
const SESSION_CACHE_MS = 30_000;

/** Most sessions (and token hashes) cached; the least recently used go first. */
const CACHE_MAX_ENTRIES = 100_000;

/** Settings of {@link Accounts}. */
export interface AccountsOptions {
  /** How long a session token lives. */
  sessionTtlMs: number;
  /** How long a kept session (`login` with `remember`) lives. Default `STORED_SESSION_TTL_MS`. */
  storedSessionTtlMs?: number;
  /** The clock. */
  now: () => number;
  /** Password hashing. */
  hasher: PasswordHasher;
  /** Who may register: anyone (`open`, the default), with an invitation, or nobody (`closed`). */
  registration?: RegistrationPolicy;
  /** `register` requests one address may send at once. */
  registrationsPerAddress?: number;
  /** How long a read ticket opens new peer connections. */
  ticketTtlMs?: number;
  /** Heartbeat interval, told at login. */
  heartbeatMs: number;
  /** Milliseconds since this tracker last read the change log (revocations). */
  logStaleness: () => number;
}

/**
 * Accounts, sessions and login back-off over the store's accounts, throttles and ticket keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Accounts, KvTrackerStore, ScryptHasher } from "./mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const accounts = new Accounts(store, {
 *   sessionTtlMs: 60_000, now: Date.now, hasher: new ScryptHasher(), heartbeatMs: 10_000,
 *   logStaleness: () => Infinity,
 * });
 * await accounts.register("ann", "password1", {});
 * const reply = await accounts.login("ann", "password1", {});
 * assert.equal((await accounts.authenticate(reply.token as string)).user, "ann");
 * ```
 */
export class Accounts {
  readonly #store: AccountStore;
  readonly #tickets: TicketKeyStore;
  readonly #options: AccountsOptions;
  readonly #throttle: LoginThrottle;
  readonly #registrations: RegistrationLimit;
  /** Sessions recently read from KV (revoked ones are dropped at once). */
  readonly #cache = new BoundedMap<string, { session: SessionRecord; until: number }>(
    CACHE_MAX_ENTRIES,
  );
  /** Token hashes of recent tokens (a request's token is hashed once, not on every request). */
  readonly #hashes = new BoundedMap<string, string>(CACHE_MAX_ENTRIES);
  #dummyHash: Promise<PasswordHash> | undefined;
  #issuer: Promise<TicketIssuer> | undefined;

  /** Accounts in `stores`. */
  constructor(
    stores: Pick<TrackerStores, "accounts" | "throttles" | "tickets">,
    options: AccountsOptions,
  ) {
    this.#store = stores.accounts;
    this.#tickets = stores.tickets;
    this.#options = options;
    this.#throttle = new LoginThrottle({
      now: options.now,
      failures: kvFailureStore(stores.throttles),
    });
    this.#registrations = new RegistrationLimit({
      now: options.now,
      store: stores.throttles,
      ...(options.registrationsPerAddress ? { perAddress: options.registrationsPerAddress } : {}),
    });
  }

  /**
   * Cheap refusals first: a bad password, too many registrations from this address, a taken name
   * (in any case); only then the scrypt hash, which may answer `BUSY`.
   */
  async register(
    username: string,
    password: string,
    context: RequestContext,
    invite?: string,
  ): Promise<Reply> {
    // Whatever the policy, a new tracker's first account (its admin) may register.
    let policy = this.#options.registration ?? "open";
    if (policy !== "open" && !(await this.#store.founded())) policy = "open";
    if (policy === "closed") {
      throw new TrackerError(
        "FORBIDDEN",
        "Cannot register: on this tracker accounts are made by its admins ('p2pfs-peer admin add NAME')",
      );
    }
    if (policy === "invite" && invite === undefined) {
      throw new TrackerError(
        "FORBIDDEN",
        "Cannot register: this tracker takes new accounts by invitation only (register --invite CODE)",
      );
    }
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new TrackerError(
        "INVALID",
        `Cannot register: password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      );
    }
    if (context.address !== undefined) {
      const wait = await this.#registrations.take(context.address);
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
    if (await this.#store.nameHeld(username)) {
      throw new TrackerError(
        "USER_EXISTS",
        `Cannot register: the name ${username} belonged to a removed account and is held for a while`,
      );
    }
    const record = { password: await this.#hash(password), createdAt: this.#options.now() };
    if (
      policy === "invite" && !(await this.#store.takeInvite(hashToken(invite!), record.createdAt))
    ) {
      throw new TrackerError(
        "FORBIDDEN",
        "Cannot register: the invitation code is unknown, used up or expired (ask an admin for another)",
      );
    }
    if (!(await this.#store.createUser(username, record))) {
      await taken(); // taken while we hashed
      throw new TrackerError("USER_EXISTS", `Cannot register: the name ${username} is taken`);
    }
    const made = await this.#store.getUser(username);
    return { type: "ok", ...(made?.admin ? { admin: true } : {}) };
  }

  /**
   * Makes an account with a one-time password that must be changed at the first login (an
   * admin's `add`, whatever the registration policy); USER_EXISTS when the name is taken.
   */
  async create(username: string, password: string): Promise<void> {
    if ((await this.#store.getUser(username)) || (await this.#store.nameHeld(username))) {
      throw new TrackerError("USER_EXISTS", `Cannot add ${username}: the name is taken or held`);
    }
    const record = {
      password: await this.#hash(password),
      createdAt: this.#options.now(),
      mustChangePassword: true,
    };
    if (!(await this.#store.createUser(username, record))) {
      throw new TrackerError("USER_EXISTS", `Cannot add ${username}: the name is taken`);
    }
  }

  /** A long-lived token of `user` for one `scope` only (an admin's `token --scope metrics`). */
  async scopedToken(user: string, scope: "metrics", ttlMs: number): Promise<string> {
    const token = newToken();
    const now = this.#options.now();
    await this.#store.putSession(hashToken(token), {
      user,
      expiresAt: now + ttlMs,
      createdAt: now,
      agent: `${scope} token`,
      scope,
    }, now);
    return token;
  }

  /** Hashes a password (for an admin's reset). */
  hashPassword(password: string): Promise<PasswordHash> {
    return this.#hash(password);
  }

  /** Forgets cached sessions of ended tokens at once (they end everywhere through the log). */
  forget(tokenHashes: string[]): void {
    for (const hash of tokenHashes) this.#cache.delete(hash);
  }

  /**
   * Logs in as `username` in any case; the session's user is the name as registered. Failures
   * slow further attempts at that name from that address, and from that address at all, never
   * from elsewhere — counted in the store, so across every tracker on it.
   */
  async login(
    username: string,
    password: string,
    context: RequestContext,
    remember = false,
  ): Promise<Reply> {
    // Throttled whether or not the user exists.
    const wait = await this.#throttle.retryAfter(username, context.address);
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
      await this.#throttle.fail(username, context.address);
      throw new TrackerError("AUTH_FAILED", "Cannot log in: wrong username or password");
    }
    await this.#throttle.succeed(username, context.address);
    const name = user.name ?? username;
    if (user.disabled) {
      throw new TrackerError(
        "FORBIDDEN",
        `Cannot log in: the account ${name} is disabled by an operator of this tracker`,
      );
    }
    const token = newToken();
    const now = this.#options.now();
    const expiresAt = now +
      (remember
        ? Math.max(
          this.#options.sessionTtlMs,
          this.#options.storedSessionTtlMs ?? STORED_SESSION_TTL_MS,
        )
        : this.#options.sessionTtlMs);
    await this.#store.putSession(
      hashToken(token),
      {
        user: name,
        expiresAt,
        createdAt: now,
        ...(context.agent ? { agent: context.agent } : {}),
        ...(user.mustChangePassword ? { mustChangePassword: true } : {}),
      },
      now,
    );
    const trackerKey = (await this.ticketIssuer()).publicKey;
    return {
      type: "session",
      token,
      user: name,
      expiresAt,
      heartbeatMs: this.#options.heartbeatMs,
      trackerKey,
    };
  }

  /** The `login` reply for a live session `token` (a kept session picked up again). */
  async resume(token: string): Promise<Reply> {
    const { tokenHash } = await this.authenticate(token);
    const session = await this.#store.getSession(tokenHash, this.#options.now());
    if (!session) {
      throw new TrackerError("BAD_TOKEN", "Cannot accept request: session is unknown or expired");
    }
    return {
      type: "session",
      token,
      user: session.user,
      expiresAt: session.expiresAt,
      heartbeatMs: this.#options.heartbeatMs,
      trackerKey: (await this.ticketIssuer()).publicKey,
    };
  }

  /**
   * Changes the caller's password: the old one must match (a wrong one counts as a failed login,
   * with the same back-off); the new one must be long enough. Every other session of the account
   * ends unless `keepSessions`; returns the user, the token hashes ended and the reply.
   */
  async passwd(
    token: string,
    change: { password: string; newPassword: string; keepSessions?: boolean },
    context: RequestContext,
  ): Promise<{ user: string; ended: string[]; reply: Reply }> {
    const { user, tokenHash } = await this.authenticate(token);
    if (change.newPassword.length < MIN_PASSWORD_LENGTH) {
      throw new TrackerError(
        "INVALID",
        `Cannot change the password: the new one must have at least ${MIN_PASSWORD_LENGTH} characters`,
      );
    }
    const wait = await this.#throttle.retryAfter(user, context.address);
    if (wait > 0) {
      throw new TrackerError(
        "RATE_LIMITED",
        `Cannot change the password: too many failed attempts; try again in ${
          Math.ceil(wait / 1000)
        } s`,
      );
    }
    const record = await this.#store.getUser(user);
    if (!record || !await this.#verify(change.password, record.password)) {
      await this.#throttle.fail(user, context.address);
      throw new TrackerError(
        "AUTH_FAILED",
        "Cannot change the password: the old password is wrong",
      );
    }
    await this.#throttle.succeed(user, context.address);
    const hash = await this.#hash(change.newPassword);
    await this.#store.updateUser(record.name ?? user, (r) => {
      const { mustChangePassword: _, ...rest } = r;
      return { ...rest, password: hash };
    });
    const current = await this.#store.getSession(tokenHash, this.#options.now());
    if (current?.mustChangePassword) {
      const { mustChangePassword: _, ...rest } = current;
      await this.#store.putSession(tokenHash, rest, this.#options.now());
      this.#cache.delete(tokenHash);
    }
    const ended: string[] = [];
    if (!change.keepSessions) {
      const sessions = await this.#store.listSessions(user, this.#options.now());
      for (const hash of sessions.keys()) {
        if (hash === tokenHash) continue;
        await this.#store.deleteSession(hash);
        this.#cache.delete(hash);
        ended.push(hash);
      }
    }
    return { user, ended, reply: { type: "ok", revoked: ended.length } };
  }

  /**
   * Ends the sessions `options` name (this one by default); returns the user, the token hashes
   * ended and the reply.
   */
  async logout(
    token: string,
    options: { all?: boolean; session?: string },
  ): Promise<{ user: string; ended: string[]; reply: Reply }> {
    const { user, tokenHash } = await this.authenticate(token);
    let targets = [tokenHash];
    if (options.all || options.session) {
      const sessions = await this.#store.listSessions(user, this.#options.now());
      targets = [...sessions.keys()].filter((hash) =>
        options.all || hash.startsWith(options.session!)
      );
      if (targets.length === 0) {
        throw new TrackerError("NOT_FOUND", `Cannot log out: no session ${options.session}`);
      }
    }
    for (const hash of targets) {
      await this.#store.deleteSession(hash);
      this.#cache.delete(hash);
    }
    return { user, ended: targets, reply: { type: "ok", revoked: targets.length } };
  }

  /** The user's live sessions. */
  async sessions(token: string): Promise<Reply> {
    const { user, tokenHash } = await this.authenticate(token);
    const sessions = await this.#store.listSessions(user, this.#options.now());
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

  /**
   * The session's user, or `BAD_TOKEN`; `mustChangePassword` when it was made with a password an
   * operator set (the service then allows only `passwd`, `logout` and the like).
   */
  async authenticate(
    token: string,
  ): Promise<
    { user: string; tokenHash: string; mustChangePassword?: boolean; scope?: "metrics" }
  > {
    let tokenHash = this.#hashes.get(token);
    if (tokenHash === undefined) {
      tokenHash = hashToken(token);
      this.#hashes.set(token, tokenHash);
    }
    const session = await this.#sessionOf(tokenHash);
    if (session === null) {
      throw new TrackerError("BAD_TOKEN", "Cannot accept request: session is unknown or expired");
    }
    return {
      user: session.user,
      tokenHash,
      ...(session.mustChangePassword ? { mustChangePassword: true } : {}),
      ...(session.scope ? { scope: session.scope } : {}),
    };
  }

  /** The user of a live session by its token hash, or null; from the cache when it is current. */
  async userOf(tokenHash: string): Promise<string | null> {
    return (await this.#sessionOf(tokenHash))?.user ?? null;
  }

  async #sessionOf(tokenHash: string): Promise<SessionRecord | null> {
    const now = this.#options.now();
    const cached = this.#cache.peek(tokenHash);
    const current = this.#options.logStaleness() < REVOCATION_MS;
    if (current && cached && cached.until > now && cached.session.expiresAt > now) {
      return cached.session;
    }
    const session = await this.#store.getSession(tokenHash, now);
    if (!session) {
      this.#cache.delete(tokenHash);
      return null;
    }
    this.#cache.set(tokenHash, { session, until: now + SESSION_CACHE_MS });
    return session;
  }

  /** Forgets cached sessions that ended (on any tracker). */
  revoked(tokenHashes: string[]): void {
    for (const hash of tokenHashes) this.#cache.delete(hash);
  }

  /** The ticket signer, loaded (or created) from the store on first use. */
  ticketIssuer(): Promise<TicketIssuer> {
    this.#issuer ??= TicketIssuer.load(this.#tickets, {
      now: this.#options.now,
      ...(this.#options.ticketTtlMs !== undefined ? { ttlMs: this.#options.ticketTtlMs } : {}),
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
      return await this.#options.hasher.hash(password);
    } catch (error) {
      throw busy(error);
    }
  }

  async #verify(password: string, stored: PasswordHash): Promise<boolean> {
    try {
      return await this.#options.hasher.verify(password, stored);
    } catch (error) {
      throw busy(error);
    }
  }
}
