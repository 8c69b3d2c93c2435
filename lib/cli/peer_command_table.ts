/**
 * The peer's commands, in the order `help` lists them: the command line (`p2pfs-peer <command>`)
 * and the shell both parse, check, explain and run them from here. Each command is one module in
 * `commands/` with its usage, flags, help and `run`; to add one, write its module and list it
 * here. `--help`, the shell's `help`, suggestions for mistyped flags and path resolution follow
 * from the entry.
 *
 * @module
 */
import { adminCommand } from "./commands/admin.ts";
import { detailsCommand } from "./commands/details.ts";
import { getCommand } from "./commands/get.ts";
import { helpCommand } from "./commands/help.ts";
import { listCommand } from "./commands/list.ts";
import { loginCommand } from "./commands/login.ts";
import { logoutCommand } from "./commands/logout.ts";
import { passwdCommand } from "./commands/passwd.ts";
import { pingCommand } from "./commands/ping.ts";
import { quitCommand } from "./commands/quit.ts";
import { registerCommand } from "./commands/register.ts";
import { serveCommand } from "./commands/serve.ts";
import { sessionsCommand } from "./commands/sessions.ts";
import { shellCommand } from "./commands/shell.ts";
import { statusCommand } from "./commands/status.ts";
import type { PeerCommand } from "./peer_host.ts";

/**
 * The peer's command table, as the command line and the shell use it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PEER_COMMANDS } from "./peer_command_table.ts";
 * assert.deepEqual(PEER_COMMANDS.filter((c) => c.sandboxed).map((c) => c.name), ["serve", "shell", "get"]);
 * ```
 */
export const PEER_COMMANDS: readonly PeerCommand[] = [
  helpCommand,
  registerCommand,
  adminCommand,
  loginCommand,
  passwdCommand,
  serveCommand,
  shellCommand,
  listCommand,
  detailsCommand,
  pingCommand,
  getCommand,
  statusCommand,
  sessionsCommand,
  logoutCommand,
  quitCommand,
];
