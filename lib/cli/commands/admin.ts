/**
 * `admin ACTION [NAME]`: an operator's actions on the tracker's accounts (see
 * `lib/tracker/admin.ts`). A code or one-time password is printed alone on the first line of
 * standard output, so scripts can take it.
 *
 * @module
 */
import { type AdminAction, MAX_INVITE_EXPIRY_MS, MAX_INVITE_USES } from "../../protocol/mod.ts";
import { CliError } from "../cli_error.ts";
import type { CommandContext } from "../command_context.ts";
import { USAGE_EXIT } from "../command_spec.ts";
import { stringValue, wholeNumberFlag } from "../flag_values.ts";
import { formatCount, formatTable } from "../format.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { parseDuration } from "../serving_options.ts";
import { tableStyle } from "../table_style.ts";
import { visible } from "../visible.ts";

/** Every action, with whether it names an account. */
export const ADMIN_ACTION_HELP: Readonly<Record<AdminAction, { account: boolean; help: string }>> =
  {
    users: { account: false, help: "every account: admin, disabled, created, last seen, counts" },
    invite: { account: false, help: "a new invitation code (--uses N, --expires DURATION)" },
    add: { account: true, help: "make an account; prints its one-time password" },
    disable: { account: true, help: "it cannot log in; its sessions end and it goes offline" },
    enable: { account: true, help: "undo disable" },
    remove: { account: true, help: "disable, then delete (the name is held for 7 days)" },
    "reset-password": { account: true, help: "prints a one-time password to change at login" },
    promote: { account: true, help: "make it an admin" },
    demote: { account: true, help: "no longer an admin (never the last one)" },
    kick: { account: true, help: "end its sessions now" },
    token: { account: false, help: "a token for /metrics only, for a scraper (--scope metrics)" },
  };

/** `admin`. */
export const adminCommand: PeerCommand = {
  name: "admin",
  summary: "operators: accounts, invitations (admin users, invite, disable NAME, ...)",
  usage: "ACTION [NAME] [--uses N] [--expires DURATION]",
  positionals: { name: "ACTION [NAME]", min: 1, max: 2 },
  flags: {
    uses: { type: "string", value: "N", help: "invite: registrations it allows (default 1)" },
    scope: { type: "string", value: "SCOPE", help: "token: what it opens (metrics)" },
    expires: {
      type: "string",
      value: "DURATION",
      help: "invite: how long it works (e.g. 2d, 12h; default 7d)",
    },
    json: JSON_FLAG,
  },
  help: [
    "An admin's actions on the tracker's accounts (refused to others):",
    ...Object.entries(ADMIN_ACTION_HELP).map(([name, a]) =>
      `  ${(name + (a.account ? " NAME" : "")).padEnd(20)} ${a.help}`
    ),
    "Every action is recorded (who, what, when) in the tracker's audit log.",
  ].join("\n"),
  examples: [
    "admin users",
    "admin invite --uses 30 --expires 7d",
    "admin disable mallory",
    "admin token --scope metrics",
  ],
  needsLogin: true,
  modes: ["cli", "shell"],
  async run({ values, positionals, host }) {
    const uses = stringValue(values.uses);
    const n = uses === undefined ? undefined : wholeNumberFlag(uses, "--uses", 1, MAX_INVITE_USES);
    const scope = stringValue(values.scope);
    if (positionals[0] === "token" && scope !== "metrics") {
      throw new CliError(
        `Cannot run admin token: give --scope metrics (the one scope there is)`,
        USAGE_EXIT,
      );
    }
    const expires = stringValue(values.expires);
    const expiresMs = expires === undefined
      ? undefined
      : parseDuration(expires, "--expires", MAX_INVITE_EXPIRY_MS);
    await runAdmin(await host.login(), positionals, {
      ...(n !== undefined ? { uses: n } : {}),
      ...(expiresMs !== undefined ? { expiresMs } : {}),
      program: host.program,
    });
    return 0;
  },
};

/** Runs `admin ACTION [NAME]` on a logged-in context and prints the answer. */
export async function runAdmin(
  ctx: CommandContext,
  positionals: readonly string[],
  options: { uses?: number; expiresMs?: number; program: string },
): Promise<void> {
  const [action, name] = positionals;
  const spec = action !== undefined ? ADMIN_ACTION_HELP[action as AdminAction] : undefined;
  if (!spec) {
    throw new CliError(
      `Cannot run admin ${action ?? ""}: expected one of ${
        Object.keys(ADMIN_ACTION_HELP).join(", ")
      }`,
      USAGE_EXIT,
    );
  }
  if (spec.account !== (name !== undefined)) {
    throw new CliError(
      `Cannot run admin ${action}: ${
        spec.account ? "name the account" : "it takes no account"
      }\nUsage: ${options.program} admin ${action}${spec.account ? " NAME" : ""}`,
      USAGE_EXIT,
    );
  }
  const reply = await ctx.client.admin(ctx.token, {
    action: action as AdminAction,
    ...(name !== undefined ? { user: name } : {}),
    ...(options.uses !== undefined ? { uses: options.uses } : {}),
    ...(options.expiresMs !== undefined ? { expiresMs: options.expiresMs } : {}),
  });
  if (ctx.json) {
    const { type: _, ...rest } = reply;
    ctx.print(JSON.stringify(action === "users" ? rest.users ?? [] : rest));
    return;
  }
  const when = (ms: number | undefined) =>
    ms === undefined ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 16);
  switch (action) {
    case "users":
      ctx.print(formatTable(
        [
          "NAME",
          "ADMIN",
          "DISABLED",
          "CREATED (UTC)",
          "LAST SEEN (UTC)",
          "ONLINE",
          "DOWNLOADS",
          "FAILURES",
        ],
        (reply.users ?? []).map((u) => [
          visible(u.user),
          u.admin ? "yes" : "",
          u.disabled ? "yes" : "",
          when(u.createdAt),
          when(u.lastSeen),
          u.online ? "yes" : "no",
          formatCount(u.downloads),
          formatCount(u.failures),
        ]),
        { right: [6, 7], ...tableStyle(ctx.colour ?? false, [5]) },
      ));
      return;
    case "invite":
      ctx.print(reply.code!);
      ctx.print(
        `an invitation for ${reply.uses} registration${reply.uses === 1 ? "" : "s"} until ${
          when(reply.expiresAt)
        } UTC: ${options.program} register --user NAME --invite ${reply.code}`,
      );
      return;
    case "token":
      ctx.print(reply.token!);
      ctx.print(
        `a token for /metrics only, until ${
          when(reply.expiresAt)
        } UTC: Authorization: Bearer TOKEN`,
      );
      return;
    case "add":
    case "reset-password":
      ctx.print(reply.password!);
      ctx.print(
        `a one-time password for ${reply.user}: it must be changed at the first login (${options.program} passwd)`,
      );
      return;
    default: {
      const ended = reply.ended ?? 0;
      const done: Record<string, string> = {
        disable: "disabled",
        enable: "enabled",
        remove: "removed",
        promote: "promoted",
        demote: "demoted",
        kick: "kicked",
      };
      ctx.print(
        `${done[action!] ?? action} ${reply.user}${
          reply.ended !== undefined ? `; ended ${ended} session${ended === 1 ? "" : "s"}` : ""
        }`,
      );
    }
  }
}
