/**
 * The accounts role of the tracker's store: users, sessions, invitations, held names and the
 * admin audit log, behind {@link AccountStore}, kept in KV by {@link KvAccountStore} (keys
 * `user`, `session`, `user_session`, `meta/founded`, `invite`, `held_name`, `admin_audit`; see
 * the table in `kv_plumbing.ts`).
 *
 * User names are unique without regard to case: the key is the name in lower case, the record
 * keeps the spelling it was registered with, and every other key uses that spelling (records
 * written before names were folded sit under their own spelling, and are still found by it).
 * A logout writes a change entry (`revoked`), so every tracker drops its cached session within one
 * tail of the change log.
 *
 * @module
 */
import { type KvPlumbing, RETRY, retrying, StoreError } from "./kv_plumbing.ts";
import type { PasswordHash } from "./password.ts";

/** A registered account. */
export interface UserRecord {
  /** The name as it was registered (absent in records written before names were folded). */
  name?: string;
  /** The salted password hash. */
  password: PasswordHash;
  /** When it was created, ms since the epoch. */
  createdAt: number;
  /** An operator of this tracker (the first account registered is one). */
  admin?: boolean;
  /** Disabled by an operator: it cannot log in. */
  disabled?: boolean;
  /** Its password was set by an operator: it must be changed before anything else. */
  mustChangePassword?: boolean;
}

/** An invitation code's record (kept under the code's SHA-256, never the code). */
export interface InviteRecord {
  /** Registrations it still allows. */
  uses: number;
  /** When it stops working, ms since the epoch. */
  expiresAt: number;
  /** The admin who made it. */
  by: string;
  /** When, ms since the epoch. */
  createdAt: number;
}

/** One admin action, as the audit log keeps it. */
export interface AdminAuditRecord {
  /** When, ms since the epoch. */
  at: number;
  /** The admin. */
  by: string;
  /** What (`disable`, `invite`, ...). */
  action: string;
  /** On which account, if any. */
  target?: string;
}

/** A live login session. */
export interface SessionRecord {
  /** The user it belongs to. */
  user: string;
  /** When it stops being valid, ms since the epoch. */
  expiresAt: number;
  /** Made with a password an operator set: only `passwd` (and `logout`) until it is changed. */
  mustChangePassword?: boolean;
  /** A token for one use only: `metrics` reads the dashboard's `/metrics` and nothing else. */
  scope?: "metrics";
  /** When it was created, ms since the epoch. */
  createdAt?: number;
  /** What logged in (`p2pfs-serve`, `p2pfs-get`, …), as the client said in `hello`. */
  agent?: string;
}

/** Users, sessions, invitations, held names and the admin audit log. */
export interface AccountStore {
  /**
   * Creates a user; false if the name is taken in any case (exactly one of concurrent calls
   * wins). The record's `name` is set to `name`.
   */
  createUser(name: string, record: UserRecord): Promise<boolean>;
  /** The record of the user named `name` in any case, with `name` as registered; or null. */
  getUser(name: string): Promise<UserRecord | null>;
  /** Replaces the password hash of user `name` (as registered); false if there is no such user. */
  setPassword(name: string, password: PasswordHash): Promise<boolean>;
  /**
   * Changes user `name`'s record with `change` (null deletes it), checked against concurrent
   * writers; `guard` sees every user record first and may refuse (throw) in the same commit's
   * view (e.g. never the last admin). Resolves to the record written, or null when there was none.
   */
  updateUser(
    name: string,
    change: (record: UserRecord) => UserRecord | null,
    guard?: (all: UserRecord[]) => void,
  ): Promise<UserRecord | null>;
  /** Whether an account was ever registered (the first one is the admin). */
  founded(): Promise<boolean>;
  /** Every account (records without hashes stripped: the caller must not hand them out). */
  listUsers(): Promise<UserRecord[]>;
  /** Ends every session of `user`; the token hashes ended. */
  endSessions(user: string, now: number): Promise<string[]>;
  /** Stores an invitation under its code's hash, expiring with it. */
  putInvite(codeHash: string, record: InviteRecord, now: number): Promise<void>;
  /** Uses one registration of the invitation; false when unknown, used up or expired. */
  takeInvite(codeHash: string, now: number): Promise<boolean>;
  /** Keeps a removed account's name from being registered again for `ms`. */
  holdName(name: string, ms: number): Promise<void>;
  /** Whether a removed account's name is still held. */
  nameHeld(name: string): Promise<boolean>;
  /** Records an admin action, kept `ms`. */
  audit(record: AdminAuditRecord, ms: number): Promise<void>;
  /** The latest admin actions, newest first. */
  listAudit(limit: number): Promise<AdminAuditRecord[]>;
  /** Stores a session under its token hash; it expires by itself (`now` is the caller's clock). */
  putSession(tokenHash: string, record: SessionRecord, now: number): Promise<void>;
  /** The session, or null if unknown or expired. */
  getSession(tokenHash: string, now: number): Promise<SessionRecord | null>;
  /** Removes a session (and tells every tracker through the change log). */
  deleteSession(tokenHash: string): Promise<void>;
  /** A user's live sessions, by token hash. */
  listSessions(user: string, now: number): Promise<Map<string, SessionRecord>>;
}

/** The error a read-check-write on `what` gives up with. */
function contended(what: string): () => never {
  return () => {
    throw new StoreError("CONTENDED", `Cannot ${what}: the record keeps changing`);
  };
}

/**
 * {@link AccountStore} on Deno KV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvStores } from "./store.ts";
 * await using stores = await openKvStores(":memory:");
 * assert.equal(await stores.accounts.getUser("nobody"), null);
 * ```
 */
export class KvAccountStore implements AccountStore {
  readonly #kv: KvPlumbing;

  /** Accounts kept through `plumbing`. */
  constructor(plumbing: KvPlumbing) {
    this.#kv = plumbing;
  }

  /** Creates a user (see {@link AccountStore.createUser}). */
  async createUser(name: string, record: UserRecord): Promise<boolean> {
    const key = ["user", name.toLowerCase()];
    // The first account of a new tracker is its admin: decided in the same commit.
    const founded = await this.#kv.kv.get(["meta", "founded"]);
    if (founded.value === null) {
      const first = await this.#kv.atomic().check({ key, versionstamp: null }).check(founded)
        .set(key, { ...record, name, admin: true })
        .set(["meta", "founded"], { by: name, at: record.createdAt }).commit();
      if (first.ok) return true;
    }
    const result = await this.#kv.atomic().check({ key, versionstamp: null })
      .set(key, { ...record, name }).commit();
    return result.ok;
  }

  /** Changes a user's record (see {@link AccountStore.updateUser}). */
  updateUser(
    name: string,
    change: (record: UserRecord) => UserRecord | null,
    guard?: (all: UserRecord[]) => void,
  ): Promise<UserRecord | null> {
    const key = ["user", name.toLowerCase()];
    return retrying(async () => {
      const entry = await this.#kv.kv.get<UserRecord>(key);
      if (!entry.value) return null;
      const op = this.#kv.atomic().check(entry);
      if (guard) {
        // Every account read and checked: the guard's view holds at the commit.
        const all: UserRecord[] = [];
        for await (const e of this.#kv.kv.list<UserRecord>({ prefix: ["user"] })) {
          all.push(e.key[1] === key[1] ? entry.value : e.value);
          op.check(e);
        }
        guard(all.map((r) => (r === entry.value ? change({ ...r }) ?? { ...r, admin: false } : r)));
      }
      const next = change({ ...entry.value });
      if (next === null) op.delete(key);
      else op.set(key, next);
      return (await op.commit()).ok ? next ?? entry.value : RETRY;
    }, contended(`change the account ${name}`));
  }

  /** Whether an account was ever registered. */
  async founded(): Promise<boolean> {
    return (await this.#kv.kv.get(["meta", "founded"])).value !== null;
  }

  /** Every account. */
  async listUsers(): Promise<UserRecord[]> {
    const users: UserRecord[] = [];
    for await (const e of this.#kv.kv.list<UserRecord>({ prefix: ["user"] })) {
      users.push({ ...e.value, name: e.value.name ?? String(e.key[1]) });
    }
    return users;
  }

  /** Ends every session of `user`. */
  async endSessions(user: string, now: number): Promise<string[]> {
    const sessions = await this.listSessions(user, now);
    for (const hash of sessions.keys()) await this.deleteSession(hash);
    return [...sessions.keys()];
  }

  /** Stores an invitation. */
  async putInvite(codeHash: string, record: InviteRecord, now: number): Promise<void> {
    await this.#kv.atomic().set(["invite", codeHash], record, {
      expireIn: Math.max(1, record.expiresAt - now),
    }).commit();
  }

  /** Uses one registration of an invitation. */
  takeInvite(codeHash: string, now: number): Promise<boolean> {
    const key = ["invite", codeHash];
    return retrying(async () => {
      const entry = await this.#kv.kv.get<InviteRecord>(key);
      const invite = entry.value;
      if (!invite || invite.uses < 1 || invite.expiresAt <= now) return false;
      const op = this.#kv.atomic().check(entry);
      if (invite.uses === 1) op.delete(key);
      else {
        op.set(key, { ...invite, uses: invite.uses - 1 }, {
          expireIn: Math.max(1, invite.expiresAt - now),
        });
      }
      return (await op.commit()).ok ? true : RETRY;
    }, contended("use an invitation"));
  }

  /** Holds a removed account's name. */
  async holdName(name: string, ms: number): Promise<void> {
    await this.#kv.atomic().set(["held_name", name.toLowerCase()], true, { expireIn: ms })
      .commit();
  }

  /** Whether a name is held. */
  async nameHeld(name: string): Promise<boolean> {
    return (await this.#kv.kv.get(["held_name", name.toLowerCase()])).value === true;
  }

  /** Records an admin action. */
  audit(record: AdminAuditRecord, ms: number): Promise<void> {
    return this.#kv.appendLog("admin_audit", record, ms);
  }

  /** The latest admin actions, newest first. */
  listAudit(limit: number): Promise<AdminAuditRecord[]> {
    return this.#kv.newest("admin_audit", limit);
  }

  /** The record of a user, in any case. */
  async getUser(name: string): Promise<UserRecord | null> {
    const lower = name.toLowerCase();
    const folded = (await this.#kv.kv.get<UserRecord>(["user", lower])).value;
    if (folded) return { ...folded, name: folded.name ?? lower };
    if (lower === name) return null;
    // A record written before names were folded, under the spelling it was registered with.
    const legacy = (await this.#kv.kv.get<UserRecord>(["user", name])).value;
    return legacy ? { ...legacy, name } : null;
  }

  /** Replaces a user's password hash. */
  setPassword(name: string, password: PasswordHash): Promise<boolean> {
    return retrying(async () => {
      for (const key of [["user", name.toLowerCase()], ["user", name]]) {
        const entry = await this.#kv.kv.get<UserRecord>(key);
        if (!entry.value) continue;
        const result = await this.#kv.atomic().check(entry)
          .set(key, { ...entry.value, password }).commit();
        return result.ok ? true : RETRY; // changed meanwhile: read it again
      }
      return false;
    }, contended(`set the password of ${name}`));
  }

  /** Stores a session. */
  async putSession(tokenHash: string, record: SessionRecord, now: number): Promise<void> {
    const ttl = Math.max(1, record.expiresAt - now);
    await this.#kv.atomic()
      .set(["session", tokenHash], record, { expireIn: ttl })
      .set(["user_session", record.user, tokenHash], record, { expireIn: ttl })
      .commit();
  }

  /** A user's live sessions. */
  async listSessions(user: string, now: number): Promise<Map<string, SessionRecord>> {
    const sessions = new Map<string, SessionRecord>();
    const prefix = ["user_session", user];
    for await (const entry of this.#kv.kv.list<SessionRecord>({ prefix })) {
      if (entry.value.expiresAt > now) sessions.set(entry.key[2] as string, entry.value);
    }
    return sessions;
  }

  /** A session, if live. */
  async getSession(tokenHash: string, now: number): Promise<SessionRecord | null> {
    const session = (await this.#kv.kv.get<SessionRecord>(["session", tokenHash])).value;
    return session && session.expiresAt > now ? session : null;
  }

  /** Removes a session. */
  async deleteSession(tokenHash: string): Promise<void> {
    const session = (await this.#kv.kv.get<SessionRecord>(["session", tokenHash])).value;
    const op = this.#kv.atomic().delete(["session", tokenHash]);
    if (session) op.delete(["user_session", session.user, tokenHash]);
    await this.#kv.logChange(op, { revoked: [tokenHash] }).commit();
  }
}
