/**
 * `passwd [--keep-sessions]`: changes the account's password, the current one required (command
 * line only).
 *
 * @module
 */
import { MIN_PASSWORD_LENGTH } from "../../protocol/mod.ts";
import { CliError } from "../cli_error.ts";
import { type CommandCall, USAGE_EXIT } from "../command_spec.ts";
import { readNewPassword, readPassword } from "../password_prompt.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand, PeerHost } from "../peer_host.ts";

/** `passwd`. */
export const passwdCommand: PeerCommand = {
  name: "passwd",
  summary: "change your password",
  usage: "[--keep-sessions]",
  positionals: { name: "", min: 0, max: 0 },
  flags: {
    "keep-sessions": { type: "boolean", help: "keep your other sessions (default: end them)" },
    json: JSON_FLAG,
  },
  help: [
    "Changes your password: the current one (P2PFS_PASSWORD or typed), then the new one",
    "(P2PFS_NEW_PASSWORD, or typed twice). Your other sessions end, serving peers included,",
    "unless --keep-sessions; the session this command uses is kept.",
  ].join("\n"),
  examples: ["passwd", "passwd --keep-sessions"],
  needsLogin: true,
  modes: ["cli"],
  run: runPasswd,
};

/** Asks the current and the new password, changes it, and prints how many sessions ended. */
export async function runPasswd({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  const old = await readPassword(`Current password for ${settings.user}: `);
  const next = await readNewPassword(settings.user);
  if (next.length < MIN_PASSWORD_LENGTH) {
    throw new CliError(
      `Cannot change the password: the new one has ${next.length} characters; it needs at least ${MIN_PASSWORD_LENGTH}`,
      USAGE_EXIT,
    );
  }
  const ctx = await host.login();
  const ended = await ctx.client.passwd(ctx.token, old, next, {
    keepSessions: !!values["keep-sessions"],
  });
  if (values.json) console.log(JSON.stringify({ user: ctx.user, changed: true, ended }));
  else {
    console.log(
      `changed the password of ${ctx.user}${
        ended > 0 ? `; ended ${ended} other session${ended === 1 ? "" : "s"}` : ""
      }`,
    );
  }
  return 0;
}
