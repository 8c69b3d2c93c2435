/**
 * `register --user NAME [--invite CODE]`: creates an account (command line only).
 *
 * @module
 */
import { MIN_PASSWORD_LENGTH } from "../../protocol/mod.ts";
import { CliError } from "../cli_error.ts";
import { type CommandCall, USAGE_EXIT } from "../command_spec.ts";
import { stringValue } from "../flag_values.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand, PeerHost } from "../peer_host.ts";

/** `register`. */
export const registerCommand: PeerCommand = {
  name: "register",
  summary: "create an account",
  usage: "--user NAME [--invite CODE]",
  positionals: { name: "", min: 0, max: 0 },
  flags: {
    invite: {
      type: "string",
      value: "CODE",
      help: "an invitation code from an admin (trackers that take accounts by invitation)",
    },
    json: JSON_FLAG,
  },
  help: [
    `Creates the account NAME (a password of at least ${MIN_PASSWORD_LENGTH} characters). The first account of a`,
    "new tracker is its admin.",
  ].join("\n"),
  examples: ["register --user ann"],
  needsLogin: false,
  modes: ["cli"],
  run: runRegister,
};

/** Registers the account named on the command line with its password; prints what it did. */
export async function runRegister({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  const password = await settings.password();
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new CliError(
      `Cannot register ${settings.user}: the password has ${password.length} characters; it needs at least ${MIN_PASSWORD_LENGTH} characters`,
      USAGE_EXIT,
    );
  }
  await using client = await settings.connect("p2pfs-register");
  const invite = stringValue(values.invite);
  const { admin } = await client.register(
    settings.user,
    password,
    invite !== undefined ? { invite } : {},
  );
  if (values.json) console.log(JSON.stringify({ user: settings.user, registered: true, admin }));
  else {
    console.log(
      `registered ${settings.user}${admin ? " (the tracker's first account: its admin)" : ""}`,
    );
  }
  return 0;
}
