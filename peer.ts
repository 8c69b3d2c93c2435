/**
 * The peer's entry point: `deno task peer <command> [options]`.
 *
 * @module
 */
import { runPeerCli } from "./lib/cli/peer_cli.ts";
import { SANDBOXED_ENV, watchParent } from "./lib/cli/sandbox.ts";

if (import.meta.main) {
  // A sandboxed child ends when the process that started it is gone (even after `kill -9`).
  if (Deno.env.get(SANDBOXED_ENV) === "1") watchParent(() => Deno.exit(137));
  Deno.exitCode = await runPeerCli(Deno.args);
}
