/**
 * Operators: what an admin of the tracker may do (`p2pfs-peer admin ...`), the rules around it
 * (never the last admin; a disabled or removed account's sessions end and it goes offline at once,
 * on every tracker through the store), and the audit log of every action. Everything is in the
 * store, so an action on one tracker holds on all of them.
 *
 * An admin never sees a password (only a one-time password it set itself, once) and never sees
 * file contents: the tracker has none.
 *
 * @module
 */
import { type AdminAction, MAX_INVITE_USES, REMOVED_NAME_HOLD_MS } from "../protocol/mod.ts";
import type { Accounts } from "./accounts.ts";
import type { AccountStore, UserRecord } from "./account_store.ts";
import { hashToken } from "./token.ts";
import { type Reply, TrackerError } from "./tracker_error.ts";

/** Admin actions are kept this many days by default (`p2pfs-tracker --audit-days`). */
export const DEFAULT_AUDIT_DAYS = 90;

/** An invitation lives this long unless `--expires` says otherwise. */
export const DEFAULT_INVITE_MS = 7 * 24 * 3600_000;

/** A metrics token (`admin token --scope metrics`) lives this long unless `--expires` says. */
export const METRICS_TOKEN_MS = 365 * 24 * 3600_000;

/** What an admin request asks. */
export interface AdminRequest {
  /** The action. */
  action: AdminAction;
  /** The account acted on. */
  user?: string;
  /** `invite`: registrations it allows. */
  uses?: number;
  /** `invite`: how long it lives, ms. */
  expiresMs?: number;
}

/** Settings of {@link Admin}. */
export interface AdminOptions {
  /** The clock. */
  now: () => number;
  /** How long the audit log keeps an action, ms. */
  auditMs?: number;
  /** Takes an account's peer offline once its sessions ended (the holder index). */
  offline(user: string, ended: string[]): Promise<void>;
  /** When each user was last seen, and whether online now. */
  seen(user: string): Promise<{ lastSeen: number | null; online: boolean }>;
  /** Counts reported for a user. */
  counts(users: string[]): Promise<Map<string, { downloads: number; failures: number }>>;
}

/** The admin actions over a store. */
export class Admin {
  readonly #store: AccountStore;
  readonly #accounts: Accounts;
  readonly #o: AdminOptions;

  /** Admin actions on `store`'s accounts. */
  constructor(store: AccountStore, accounts: Accounts, options: AdminOptions) {
    this.#store = store;
    this.#accounts = accounts;
    this.#o = options;
  }

  /** Runs `request` for the session `token`; refused unless its user is an admin. */
  async handle(token: string, request: AdminRequest): Promise<Reply> {
    const { user: by } = await this.#accounts.authenticate(token);
    const self = await this.#store.getUser(by);
    if (!self?.admin || self.disabled) {
      throw new TrackerError(
        "FORBIDDEN",
        `Cannot run admin ${request.action}: ${by} is not an admin of this tracker`,
      );
    }
    const reply = await this.#run(by, request);
    await this.#store.audit({
      at: this.#o.now(),
      by,
      action: request.action,
      ...(request.user ? { target: request.user } : {}),
    }, this.#o.auditMs ?? DEFAULT_AUDIT_DAYS * 24 * 3600_000);
    return reply;
  }

  async #run(by: string, r: AdminRequest): Promise<Reply> {
    if (r.action === "users") return { type: "admin", users: await this.#users() };
    if (r.action === "invite") {
      const code = newCode();
      const uses = Math.min(MAX_INVITE_USES, Math.max(1, r.uses ?? 1));
      const now = this.#o.now();
      await this.#store.putInvite(hashToken(code), {
        uses,
        expiresAt: now + (r.expiresMs ?? DEFAULT_INVITE_MS),
        by,
        createdAt: now,
      }, now);
      return { type: "admin", code, uses, expiresAt: now + (r.expiresMs ?? DEFAULT_INVITE_MS) };
    }
    if (r.action === "token") {
      const ms = r.expiresMs ?? METRICS_TOKEN_MS;
      const token = await this.#accounts.scopedToken(by, "metrics", ms);
      return { type: "admin", token, expiresAt: this.#o.now() + ms };
    }
    const target = r.user;
    if (target === undefined) {
      throw new TrackerError("INVALID", `Cannot run admin ${r.action}: name the account`);
    }
    if (r.action === "add") {
      const password = newCode();
      await this.#accounts.create(target, password);
      return { type: "admin", user: target, password };
    }
    const record = await this.#store.getUser(target);
    if (!record) {
      throw new TrackerError("NOT_FOUND", `Cannot run admin ${r.action}: no account ${target}`);
    }
    const name = record.name ?? target;
    switch (r.action) {
      case "disable":
        if (name.toLowerCase() === by.toLowerCase()) {
          throw new TrackerError("INVALID", "Cannot disable your own account");
        }
        await this.#store.updateUser(name, (u) => ({ ...u, disabled: true }), lastAdminGuard);
        return { type: "admin", user: name, ended: await this.#end(name) };
      case "enable":
        await this.#store.updateUser(name, (u) => {
          const { disabled: _, ...rest } = u;
          return rest;
        });
        return { type: "admin", user: name };
      case "kick":
        return { type: "admin", user: name, ended: await this.#end(name) };
      case "remove": {
        if (name.toLowerCase() === by.toLowerCase()) {
          throw new TrackerError("INVALID", "Cannot remove your own account");
        }
        await this.#store.updateUser(name, () => null, lastAdminGuard);
        const ended = await this.#end(name);
        await this.#store.holdName(name, REMOVED_NAME_HOLD_MS);
        return { type: "admin", user: name, ended };
      }
      case "reset-password": {
        const password = newCode();
        const hash = await this.#accounts.hashPassword(password);
        await this.#store.updateUser(
          name,
          (u) => ({ ...u, password: hash, mustChangePassword: true }),
        );
        return { type: "admin", user: name, password, ended: await this.#end(name) };
      }
      case "promote":
        await this.#store.updateUser(name, (u) => ({ ...u, admin: true }));
        return { type: "admin", user: name };
      case "demote":
        await this.#store.updateUser(name, (u) => {
          const { admin: _, ...rest } = u;
          return rest;
        }, lastAdminGuard);
        return { type: "admin", user: name };
    }
    throw new TrackerError("INVALID", `Cannot run admin ${r.action}: unknown action`);
  }

  /** Ends every session of `user` and takes its peer offline; how many ended. */
  async #end(user: string): Promise<number> {
    const ended = await this.#store.endSessions(user, this.#o.now());
    this.#accounts.forget(ended);
    await this.#o.offline(user, ended);
    return ended.length;
  }

  async #users() {
    const users = await this.#store.listUsers();
    const counts = await this.#o.counts(users.map((u) => u.name!));
    const seen = await Promise.all(users.map((u) => this.#o.seen(u.name!)));
    return users.map((u, i) => {
      const c = counts.get(u.name!) ?? { downloads: 0, failures: 0 };
      return {
        user: u.name!,
        admin: u.admin === true,
        disabled: u.disabled === true,
        createdAt: u.createdAt,
        ...(seen[i]!.lastSeen !== null ? { lastSeen: seen[i]!.lastSeen } : {}),
        online: seen[i]!.online,
        downloads: c.downloads,
        failures: c.failures,
      };
    }).sort((a, b) => a.user.localeCompare(b.user));
  }
}

/** Refuses a change that would leave the tracker without an enabled admin. */
function lastAdminGuard(all: UserRecord[]): void {
  if (!all.some((u) => u.admin && !u.disabled)) {
    throw new TrackerError(
      "INVALID",
      "Cannot do that: it would leave the tracker without an admin (promote another first)",
    );
  }
}

/** A random code: 24 hex digits (96 bits). */
function newCode(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(12)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
