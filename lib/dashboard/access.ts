/**
 * Who may see the dashboard (`p2pfs-tracker --dashboard-access public|members|admins`), and the
 * admin page. {@link withAccess} wraps the dashboard's handler: members sign in on `/signin` with
 * their account (the tracker's own login, with its back-off) and get a session cookie (HttpOnly,
 * SameSite=Strict, Secure under TLS); the JSON API and `/metrics` also take
 * `Authorization: Bearer TOKEN` (a session, e.g. the one `p2pfs-peer login` kept). `/healthz`
 * stays open for health checks. Admins get `/admin`: accounts with their actions, invitations,
 * and the audit log of admin actions.
 *
 * Every state-changing request (`POST`) must come from the dashboard itself: its `Origin` (when
 * the browser sends one) must be this host, and it must carry the form's token, derived from the
 * session; the cookie is never sent cross-site anyway (SameSite=Strict).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { AdminAuditRecord, TransferAuditRecord, UserRecord } from "../tracker/mod.ts";
import { type Html, html } from "./html.ts";
import { plainDocument } from "./layout.ts";
import { table } from "./table.ts";

/** Who may see the dashboard. */
export type DashboardAccess = "public" | "members" | "admins";

/** The session cookie's name. */
export const SESSION_COOKIE = "p2pfs_session";

/** What the access layer needs of the tracker. */
export interface AccessBackend {
  /** Logs in (with the tracker's back-off); the session token, or throws. */
  login(user: string, password: string, address: string | undefined): Promise<string>;
  /** Ends a session. */
  logout(token: string): Promise<void>;
  /**
   * The session's user, whether it is an enabled admin, and its scope (a `metrics` token opens
   * `/metrics` alone); null for no live session.
   */
  whoIs(token: string): Promise<{ user: string; admin: boolean; scope?: string } | null>;
  /** Runs an admin action for the session `token` (refused unless it is an admin's). */
  admin(
    token: string,
    request: { action: string; user?: string; uses?: number },
  ): Promise<Record<string, unknown>>;
  /** Every account, for the admin page. */
  users(): Promise<UserRecord[]>;
  /** The latest admin actions. */
  audit(limit: number): Promise<AdminAuditRecord[]>;
  /** The latest reported transfers. */
  transfers(limit: number): Promise<TransferAuditRecord[]>;
}

/** A request handler that may know the client's address. */
export type AccessHandler = (request: Request, address?: string) => Promise<Response>;

/**
 * The dashboard `handler` behind sign-in as `access` says; `secure` marks the cookie `Secure`
 * (the dashboard is served over TLS).
 */
export function withAccess(
  handler: (request: Request) => Promise<Response> | Response,
  backend: AccessBackend,
  options: { access: DashboardAccess; secure?: boolean },
): AccessHandler {
  const cookie = (value: string, maxAge?: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict${
      options.secure ? "; Secure" : ""
    }${maxAge !== undefined ? `; Max-Age=${maxAge}` : ""}`;

  return async (request, address) => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/healthz" || path.startsWith("/assets/")) return await handler(request);
    const token = tokenOf(request);
    const found = token ? await backend.whoIs(token) : null;
    if (found?.scope === "metrics" && path === "/metrics" && request.method === "GET") {
      return await handler(request);
    }
    const who = found?.scope === undefined ? found : null;

    if (request.method === "POST" && ACCESS_FORMS.has(path)) {
      if (!sameOrigin(request, url)) return text("Cannot accept: a request from another site", 403);
      const form = await request.formData().catch(() => new FormData());
      if (path === "/signin") {
        const user = String(form.get("user") ?? "");
        const password = String(form.get("password") ?? "");
        const next = safeNext(String(form.get("next") ?? "/"));
        try {
          const session = await backend.login(user, password, address);
          return new Response(null, {
            status: 303,
            headers: { location: next, "set-cookie": cookie(session) },
          });
        } catch (error) {
          return page(
            signInPage(next, error instanceof Error ? error.message : String(error)),
            401,
          );
        }
      }
      if (!who || !token || form.get("csrf") !== csrfOf(token)) {
        return text("Cannot accept: sign in on this dashboard first", 403);
      }
      if (path === "/signout") {
        await backend.logout(token).catch(() => {});
        return new Response(null, {
          status: 303,
          headers: { location: "/signin", "set-cookie": cookie("", 0) },
        });
      }
      if (path === "/admin/action") {
        const action = String(form.get("action") ?? "");
        const user = form.get("user");
        const uses = Number(form.get("uses") ?? "");
        let note: string;
        try {
          const reply = await backend.admin(token, {
            action,
            ...(typeof user === "string" && user !== "" ? { user } : {}),
            ...(Number.isInteger(uses) && uses > 0 ? { uses } : {}),
          });
          note = describeAction(action, reply);
        } catch (error) {
          note = error instanceof Error ? error.message : String(error);
        }
        return page(await adminPage(backend, who, token, note), 200);
      }
    }

    if (path === "/signin") return page(signInPage(safeNext(url.searchParams.get("next") ?? "/")));
    if (path === "/admin") {
      if (!who) return signInFirst(request, url);
      if (!who.admin) return page(messagePage("Admins only", `${who.user} is not an admin.`), 403);
      return page(await adminPage(backend, who, token!, undefined));
    }
    const allowed = options.access === "public" ||
      (who !== null && (options.access === "members" || who.admin));
    if (!allowed) {
      if (who) return page(messagePage("Admins only", `${who.user} is not an admin.`), 403);
      return signInFirst(request, url);
    }
    return await handler(request);
  };
}

/** The forms this layer answers; every other request goes on to the dashboard (read-only). */
const ACCESS_FORMS = new Set(["/signin", "/signout", "/admin/action"]);

/** The session token of a request: `Authorization: Bearer`, or the session cookie. */
function tokenOf(request: Request): string | undefined {
  const auth = request.headers.get("authorization");
  const bearer = auth && /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  if (bearer) return bearer;
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === SESSION_COOKIE && rest.join("=") !== "") return rest.join("=");
  }
  return undefined;
}

/** The form token of a session: tied to it, useless elsewhere. */
export function csrfOf(token: string): string {
  return createHash("sha256").update(`p2pfs dashboard form:${token}`).digest("hex").slice(0, 32);
}

/** Whether a POST comes from this dashboard: its `Origin`, when sent, is this host. */
function sameOrigin(request: Request, url: URL): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true; // not a browser's cross-site form (they send Origin)
  return origin === url.origin || origin === `${url.protocol}//${request.headers.get("host")}`;
}

/** Only paths on this dashboard are followed after sign-in. */
function safeNext(next: string): string {
  return /^\/(?![/\\])[^\s]*$/.test(next) ? next : "/";
}

function signInFirst(request: Request, url: URL): Response {
  const wantsHtml = (request.headers.get("accept") ?? "").includes("text/html");
  if (!wantsHtml || url.pathname.startsWith("/api/") || url.pathname === "/metrics") {
    return new Response(
      JSON.stringify({ error: "Cannot answer: sign in (Authorization: Bearer TOKEN)" }),
      {
        status: 401,
        headers: { "content-type": "application/json", "www-authenticate": "Bearer" },
      },
    );
  }
  return new Response(null, {
    status: 303,
    headers: { location: `/signin?next=${encodeURIComponent(url.pathname + url.search)}` },
  });
}

function text(body: string, status: number): Response {
  return new Response(`${body}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function page(body: Html, status = 200): Response {
  return new Response("<!doctype html>\n" + body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "x-frame-options": "DENY",
    },
  });
}

function signInPage(next: string, error?: string): Html {
  return plainDocument(
    "Sign in",
    html`
      ${error ? html`<p class="error" role="alert">${error}</p>` : ""}
      <form method="post" action="/signin" class="signin">
        <input type="hidden" name="next" value="${next}">
        <label>Account <input name="user" autocomplete="username" required></label>
        <label>Password <input name="password" type="password" autocomplete="current-password"
          required></label>
        <button type="submit">Sign in</button>
      </form>
      <p>Members of this tracker sign in with their p2pfs account.</p>
    `,
  );
}

function messagePage(title: string, message: string): Html {
  return plainDocument(
    title,
    html`
      <p>${message}</p>
      <p><a href="/signin">Sign in as someone else</a></p>
    `,
  );
}

const ACCOUNT_ACTIONS = ["disable", "enable", "kick", "reset-password"] as const;

async function adminPage(
  backend: AccessBackend,
  who: { user: string },
  token: string,
  note: string | undefined,
): Promise<Html> {
  const csrf = csrfOf(token);
  const [users, audit, transfers] = await Promise.all([
    backend.users(),
    backend.audit(100),
    backend.transfers(200),
  ]);
  const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 16);
  const action = (name: string, user?: string) =>
    html`
      <form method="post" action="/admin/action" class="inline">
        <input type="hidden" name="csrf" value="${csrf}">
        <input type="hidden" name="action" value="${name}">
        ${user ? html`<input type="hidden" name="user" value="${user}">` : ""}
        <button type="submit" data-action="${name}" data-user="${user ?? ""}">${name}</button>
      </form>
    `;
  const byName = users.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  const accounts = table(byName, [
    { label: "Account", cell: (u) => u.name ?? "" },
    { label: "Admin", cell: (u) => u.admin ? "yes" : "" },
    { label: "Disabled", cell: (u) => u.disabled ? "yes" : "" },
    { label: "Created (UTC)", cell: (u) => when(u.createdAt) },
    { label: "Actions", cell: (u) => ACCOUNT_ACTIONS.map((a) => action(a, u.name)) },
  ], { row: (u) => ({ "data-user": u.name ?? "" }) });
  const transferAudit = table(transfers, [
    { label: "When (UTC)", cell: (t) => when(t.at) },
    { label: "Downloader", cell: (t) => t.downloader },
    { label: "File", cell: (t) => t.name },
    { label: "From", cell: (t) => t.source },
    { label: "Bytes", cell: (t) => String(t.bytes) },
    { label: "Outcome", cell: (t) => t.ok ? "ok" : t.reason ?? "failed" },
  ], { id: "transfer-audit" });
  const auditLog = table(audit, [
    { label: "When (UTC)", cell: (a) => when(a.at) },
    { label: "Who", cell: (a) => a.by },
    { label: "What", cell: (a) => a.action },
    { label: "On", cell: (a) => a.target ?? "" },
  ]);
  return plainDocument(
    "Admin",
    html`
      <p>Signed in as <strong>${who.user}</strong>.
        <form method="post" action="/signout" class="inline">
          <input type="hidden" name="csrf" value="${csrf}">
          <button type="submit">Sign out</button>
        </form>
      </p>
      ${note ? html`<p class="note" role="status" id="admin-note">${note}</p>` : ""}
      <h2>Accounts</h2>
      ${accounts}
      <h2>Invitations</h2>
      <form method="post" action="/admin/action" class="inline">
        <input type="hidden" name="csrf" value="${csrf}">
        <input type="hidden" name="action" value="invite">
        <label>Uses <input name="uses" type="number" min="1" max="10000" value="1"></label>
        <button type="submit" data-action="invite">new invitation</button>
      </form>
      <h2>Who downloaded what from whom</h2>
      ${transferAudit}
      <h2>Audit log</h2>
      ${auditLog}
    `,
  );
}

function describeAction(action: string, reply: Record<string, unknown>): string {
  if (action === "invite") return `Invitation code: ${reply.code} (${reply.uses} use(s))`;
  if (action === "reset-password") {
    return `One-time password for ${reply.user}: ${reply.password} (to change at the first login)`;
  }
  return `${action}: ${reply.user ?? "done"}${
    typeof reply.ended === "number" ? `; ended ${reply.ended} session(s)` : ""
  }`;
}
