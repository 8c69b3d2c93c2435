/**
 * `logout [--all | --session ID]`: ends the kept session (or every one, or one by id) and forgets
 * it; in the shell, with no option, leaves like `quit`.
 *
 * @module
 */
import { CliError } from "../cli_error.ts";
import { stringValue } from "../flag_values.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";

/** `logout`. */
export const logoutCommand: PeerCommand = {
  name: "logout",
  summary: "end the kept session (--all: every one); in the shell: leave",
  usage: "[--all | --session ID]",
  positionals: { name: "", min: 0, max: 0 },
  flags: {
    all: { type: "boolean", help: "revoke every session of yours" },
    session: {
      type: "string",
      value: "ID",
      help: "revoke the session whose id starts with ID",
    },
    json: JSON_FLAG,
  },
  help: [
    "Ends the session 'login' kept and forgets it; --all ends every session of yours, --session",
    "one (see 'sessions'). A serving peer whose session is ended stops serving and says so. In",
    "the shell, logout with no option logs out and leaves, like quit.",
  ].join("\n"),
  examples: ["logout --all"],
  needsLogin: true,
  modes: ["cli", "shell"],
  async run({ values, host }) {
    const session = stringValue(values.session);
    const cli = host.cli;
    if (!values.all && session === undefined) {
      if (host.shell) {
        host.shell.leave();
        return 0;
      }
      if (!cli?.kept) {
        throw new CliError(
          `Cannot log out: no session is kept for this tracker (sign in with '${host.program} login'; --all ends every session of yours)`,
        );
      }
    }
    const ctx = await host.login();
    const revoked = await ctx.client.logout(
      ctx.token,
      values.all ? { all: true } : session !== undefined ? { session } : {},
    );
    // The kept session ended (it was the one asked for, or one of all): forget it.
    const forgot = cli?.kept !== undefined && (values.all || session === undefined);
    if (forgot) await cli!.forgetKept();
    if (ctx.json) ctx.print(JSON.stringify({ revoked, forgotten: forgot }));
    else {
      ctx.print(
        `revoked ${revoked} session${revoked === 1 ? "" : "s"}${
          forgot ? "; the kept session is forgotten" : ""
        }`,
      );
    }
    if (values.all) host.shell?.leave();
    return 0;
  },
};
