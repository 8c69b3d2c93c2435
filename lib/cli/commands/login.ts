/**
 * `login [--user NAME]`: signs in once and keeps the session for later commands (command line
 * only; see `session_store.ts`).
 *
 * @module
 */
import { formatTrackers } from "../../peer/mod.ts";
import { CliError } from "../cli_error.ts";
import type { CommandCall } from "../command_spec.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand, PeerHost } from "../peer_host.ts";
import { saveSession, sessionFile } from "../session_store.ts";
import { visibleJson } from "../visible.ts";

/** `login`. */
export const loginCommand: PeerCommand = {
  name: "login",
  summary: "sign in once: later commands use the kept session",
  usage: "[--user NAME]",
  positionals: { name: "", min: 0, max: 0 },
  flags: { json: JSON_FLAG },
  help: [
    "Signs in (the password from P2PFS_PASSWORD or typed) and keeps the session in",
    "$XDG_CONFIG_HOME/p2pfs/sessions.json (~/.config/p2pfs/), readable by you alone, one per",
    "tracker cluster. Later commands use it without a password, until 'logout' or until it",
    "expires (30 days). With P2PFS_PASSWORD set, commands sign in with it instead.",
  ].join("\n"),
  examples: ["login --user ann"],
  needsLogin: false,
  modes: ["cli"],
  run: runLogin,
};

/** Signs in with the password and keeps the session in the config folder; prints where. */
export async function runLogin({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  const password = await settings.password();
  await using client = await settings.connect("p2pfs-login");
  const session = await client.login(settings.user, password, { remember: true });
  const path = sessionFile();
  try {
    await saveSession(settings.tracker, {
      user: session.user,
      token: session.token,
      expiresAt: session.expiresAt,
    }, path);
  } catch (error) {
    await client.logout(session.token).catch(() => {});
    throw new CliError(
      `Cannot keep the session in ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const where = formatTrackers(settings.tracker);
  if (values.json) {
    console.log(visibleJson(JSON.stringify({
      user: session.user,
      tracker: where,
      expiresAt: session.expiresAt,
      file: path,
    })));
  } else {
    console.log(
      `logged in as ${session.user} on ${where} until ${
        new Date(session.expiresAt).toISOString().slice(0, 10)
      }; the session is kept in ${path}`,
    );
  }
  return 0;
}
