/**
 * The tracker's entry point: `deno task tracker [--host H] [--port P] [--kv PATH]`.
 *
 * @module
 */
import { SANDBOXED_ENV, watchParent } from "./lib/cli/sandbox.ts";
import { runTrackerCli } from "./lib/cli/tracker_cli.ts";
import { WORKER_ENV } from "./lib/cli/tracker_workers.ts";

if (import.meta.main) {
  // A sandboxed child ends when the process that started it is gone (even after `kill -9`).
  if (Deno.env.get(SANDBOXED_ENV) === "1" || Deno.env.get(WORKER_ENV)) {
    watchParent(() => Deno.exit(137));
  }
  Deno.exitCode = await runTrackerCli(Deno.args);
}
