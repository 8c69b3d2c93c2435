/**
 * What `serve` and `shell` share: start a serving peer from the serving flags, then either wait
 * for a signal (`serve`) or run the interactive shell, and log out when done.
 *
 * @module
 */
import { formatAddress, formatTrackers, PeerNode } from "../../peer/mod.ts";
import { DEFAULT_HOST, DEFAULT_PEER_PORT } from "../../protocol/mod.ts";
import { CliError } from "../cli_error.ts";
import type { CommandCall } from "../command_spec.ts";
import { stringValue, wholeNumberFlag } from "../flag_values.ts";
import { waitForSignal } from "../peer_context.ts";
import { servingFlagValues } from "../peer_flags.ts";
import { PEER_PROGRAM, type PeerHost } from "../peer_host.ts";
import { shareFolder } from "../peer_settings.ts";
import { currentScope, describeScope } from "../sandbox.ts";
import { servingOptions } from "../serving_options.ts";
import { runShell } from "../shell.ts";
import { visible } from "../visible.ts";

/** `serve` and `shell`: a serving peer, then either waiting for a signal or the shell. */
export async function runServing(
  { values, host }: CommandCall<PeerHost>,
  isShell: boolean,
): Promise<number> {
  const settings = host.cli!;
  const name = isShell ? "shell" : "serve";
  const serving = await servingOptions(servingFlagValues(values), name);
  const share = (await shareFolder(name, stringValue(values.share)))!;
  const ticketWindow = stringValue(values["ticket-window-ms"]);
  const maxUnticketed = stringValue(values["max-unticketed"]);
  const password = settings.kept ? "" : await settings.password();
  let log = (line: string) => console.error(line);
  const node = await PeerNode.start({
    tracker: settings.tracker,
    user: settings.user,
    ...(settings.kept ? { token: settings.kept.token } : { password }),
    shareDir: share,
    hostname: serving.hostname ?? DEFAULT_HOST,
    port: serving.port ?? DEFAULT_PEER_PORT,
    ...(serving.announceHost ? { announceHost: serving.announceHost } : {}),
    ...(serving.uploadLimiter ? { uploadLimiter: serving.uploadLimiter } : {}),
    ...(serving.tls ? { serverTls: serving.tls } : {}),
    ...(settings.clientTls ? { trackerTls: settings.clientTls } : {}),
    ...(ticketWindow !== undefined
      ? { ticketWindowMs: wholeNumberFlag(ticketWindow, "--ticket-window-ms", 1) }
      : {}),
    ...(maxUnticketed !== undefined
      ? { maxUnticketed: wholeNumberFlag(maxUnticketed, "--max-unticketed", 1) }
      : {}),
    onLog: (line) => log(`peer: ${visible(line)}`),
  });
  const where = formatTrackers(settings.tracker);
  try {
    if (!isShell) {
      // Listen for signals before saying we are ready: a SIGTERM sent as soon as the line is
      // seen would otherwise kill the process without logging out.
      const stopped = waitForSignal();
      const scope = currentScope();
      console.error(scope ? `peer: ${describeScope(scope)}` : "peer: not sandboxed (--no-sandbox)");
      console.log(
        `peer ${settings.user} serving ${node.files.size} files on ${
          formatAddress(node.addr.hostname, node.addr.port)
        }`,
      );
      const ended = await Promise.race([stopped.then(() => undefined), node.ended]);
      if (ended !== undefined) {
        const again = settings.kept
          ? `sign in again with '${PEER_PROGRAM} login' and start serve again`
          : "start serve again";
        throw new CliError(`Cannot serve as ${settings.user} any longer: ${ended}; ${again}`);
      }
    } else {
      await runShell(node, {
        tracker: settings.tracker,
        user: settings.user,
        password,
        outDir: stringValue(values.out) ?? node.root,
        commands: host.commands,
        ...(settings.clientTls ? { tls: settings.clientTls } : {}),
        setLog: (print) => log = print,
      });
    }
  } finally {
    await node.close();
  }
  if (isShell) console.log(`bye, ${settings.user}: logged out of ${where}`);
  return 0;
}
