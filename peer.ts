/**
 * The peer's entry point: `deno task peer <command> [options]`.
 *
 * @module
 */
import { runPeerCli } from "./lib/cli/peer_cli.ts";

if (import.meta.main) {
  Deno.exitCode = await runPeerCli(Deno.args);
}
