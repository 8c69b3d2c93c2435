/**
 * `p2pfs-peer <command>` (or `deno task -q peer <command>`): finds the command in the command
 * table, parses and checks its flags, reads the settings (`peer_settings.ts`), re-runs a sandboxed
 * command in its sandbox (`peer_sandbox.ts`), builds the context it runs in (`peer_context.ts`),
 * runs it, prints one clear line on stderr and exits non-zero on failure (2 for usage mistakes).
 *
 * @module
 */
import { CliError } from "./cli_error.ts";
import { colourFor, paint } from "./colour.ts";
import {
  checkPositionals,
  findCommand,
  flagsFor,
  parseFlags,
  renderHelp,
  USAGE_EXIT,
} from "./command_spec.ts";
import { commandList } from "./commands/help.ts";
import { describeError } from "./describe_error.ts";
import { userCwd } from "./paths.ts";
import { PEER_COMMANDS } from "./peer_command_table.ts";
import { clientTlsFor, cliHost, cliSettings } from "./peer_context.ts";
import { COMMON_FLAGS } from "./peer_flags.ts";
import { PEER_PROGRAM, type PeerHost } from "./peer_host.ts";
import { runInSandbox } from "./peer_sandbox.ts";
import { readPeerSettings } from "./peer_settings.ts";
import { versionLine } from "./version.ts";

/** Runs the peer command line; resolves to the exit code. */
export async function runPeerCli(args: string[]): Promise<number> {
  const hints = { typedPassword: false };
  try {
    const name = args[0];
    const bare: PeerHost = {
      mode: "cli",
      program: PEER_PROGRAM,
      commands: PEER_COMMANDS,
      print: (text) => console.log(text),
      log: (line) => console.error(line),
      colour: colourFor(Deno.stdout),
      signal: new AbortController().signal,
      login: () => Promise.reject(new Error("Cannot log in: no command")),
    };
    if (name === undefined || name === "-h" || name === "--help") {
      console.log(commandList(PEER_COMMANDS, bare));
      return name === undefined ? USAGE_EXIT : 0;
    }
    if (name === "--version" || name === "-V") {
      console.log(versionLine(PEER_PROGRAM));
      return 0;
    }
    const command = findCommand(PEER_COMMANDS, name, "cli");
    const { values, positionals } = parseFlags(
      args.slice(1),
      flagsFor(command, "cli", COMMON_FLAGS),
      userCwd(),
    );
    if (values.help) {
      console.log(renderHelp(command, "cli", PEER_PROGRAM, COMMON_FLAGS));
      return 0;
    }
    checkPositionals(command, positionals, PEER_PROGRAM);
    if (command.name === "help") return await command.run({ values, positionals, host: bare });

    const settings = await readPeerSettings(command, values);
    const sandboxed = await runInSandbox(command, values, positionals, settings);
    if (sandboxed !== undefined) return sandboxed;
    const clientTls = await clientTlsFor(settings);
    const cli = cliSettings(settings, clientTls, () => {
      hints.typedPassword = !Deno.env.get("P2PFS_PASSWORD");
    });
    await using host = cliHost(command, bare, cli, !!values.json);
    return await command.run({ values, positionals, host });
  } catch (error) {
    console.error(
      `${paint("red", "error:", colourFor(Deno.stderr))} ${describeError(error, hints)}`,
    );
    return error instanceof CliError ? error.exitCode : 1;
  }
}
