/**
 * The peer's entry point: `deno task peer <command> [options]`.
 *
 * @module
 */
import { runPeerCli } from "./lib/cli/peer_cli.ts";
import { SANDBOXED_ENV } from "./lib/cli/sandbox.ts";

if (import.meta.main) {
  if (Deno.env.get(SANDBOXED_ENV) === "1") exitWithParent();
  Deno.exitCode = await runPeerCli(Deno.args);
}

/** A sandboxed child ends when the process that started it is gone (even after `kill -9`). */
function exitWithParent(): void {
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid !== parent) Deno.exit(137);
  }, 250);
  Deno.unrefTimer(timer);
}
