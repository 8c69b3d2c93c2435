/**
 * The tracker's entry point: `deno task tracker [--host H] [--port P] [--kv PATH]`.
 *
 * @module
 */
import { runTrackerCli } from "./lib/cli/tracker_cli.ts";

if (import.meta.main) {
  Deno.exitCode = await runTrackerCli(Deno.args);
}
