/**
 * `help [COMMAND]`: the list of commands, or one command's usage, options and examples.
 *
 * @module
 */
import { CliError } from "../cli_error.ts";
import { renderCommandList, renderHelp, USAGE_EXIT } from "../command_spec.ts";
import { COMMON_FLAGS } from "../peer_flags.ts";
import type { PeerCommand, PeerHost } from "../peer_host.ts";

/** `help [COMMAND]`. */
export const helpCommand: PeerCommand = {
  name: "help",
  summary: "the list of commands, or more about one",
  usage: "[COMMAND]",
  positionals: { name: "COMMAND", min: 0, max: 1 },
  completes: "commands",
  flags: {},
  help: "Lists the commands, or explains one with its options and an example.",
  examples: ["help get"],
  needsLogin: false,
  modes: ["cli", "shell"],
  run({ positionals, host }) {
    const topic = positionals[0];
    if (topic === undefined) {
      host.print(commandList(host.commands, host));
      return Promise.resolve(0);
    }
    const command = host.commands.find((c) => c.name === topic || c.aliases?.includes(topic));
    if (!command || !command.modes.includes(host.mode)) {
      throw new CliError(`Cannot explain '${topic}': unknown command`, USAGE_EXIT);
    }
    host.print(
      renderHelp(command, host.mode, host.program, host.mode === "cli" ? COMMON_FLAGS : {}),
    );
    return Promise.resolve(0);
  },
};

/** The list of commands, as `help` with no topic prints it. */
export function commandList(table: readonly PeerCommand[], host: PeerHost): string {
  if (host.mode === "shell") {
    return [
      "Commands:",
      renderCommandList(table, "shell"),
      "'help COMMAND' tells more. File names with spaces go in double quotes. On a terminal: Tab",
      "completes commands, file names and user names; Up/Down recall earlier lines; Ctrl-C",
      "cancels a running command or clears the line; Ctrl-D on an empty line leaves.",
    ].join("\n");
  }
  return [
    `Usage: ${host.program} <command> [options]`,
    "",
    "Commands:",
    renderCommandList(table, "cli"),
    "",
    "Common options:",
    ...Object.entries(COMMON_FLAGS).map(([name, f]) =>
      `  --${name}${f.type === "string" ? ` ${f.value}` : ""}`.padEnd(26) + f.help
    ),
    `  ${"-h, --help".padEnd(24)}show help`,
    `  ${"--version".padEnd(24)}show the program's version`,
    "",
    `Run '${host.program} <command> --help' for a command's options.`,
  ].join("\n");
}
