/**
 * `deno task compile`: builds standalone `dist/p2pfs-tracker` and `dist/p2pfs-peer` with
 * `deno compile`. That needs Deno's runtime from the network; when it cannot be had, one line
 * says so and points to `deno task install`, which needs nothing downloaded.
 *
 * @module
 */
import { join } from "node:path";
import { PROGRAM_PERMISSIONS, PROGRAMS } from "./install.ts";
import { ROOT } from "./_processes.ts";
import { stripColour } from "../lib/cli/colour.ts";

async function main(): Promise<number> {
  for (const program of PROGRAMS) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        // A compiled program cannot start a sandboxed copy of itself, so it needs no --allow-run.
        ...PROGRAM_PERMISSIONS.filter((p) => p !== "--allow-run"),
        "--output",
        join(ROOT, "dist", program.name),
        join(ROOT, program.script),
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      const why = compileFailure(new TextDecoder().decode(output.stderr));
      console.error(
        `error: Cannot compile ${program.name}: ${
          why ?? "deno compile failed"
        } (it downloads Deno's runtime; without network, install the commands with 'deno task install')`,
      );
      return 1;
    }
    console.log(`built dist/${program.name}`);
  }
  return 0;
}

/**
 * Why `deno compile` failed, in a few words: the download it could not make, or its error line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileFailure } from "./compile.ts";
 * const stderr = "error: Writing ...\n    1: error sending request for url (https://dl.deno.land/x.zip): client error\n";
 * assert.equal(compileFailure(stderr), "cannot download https://dl.deno.land/x.zip");
 * ```
 */
export function compileFailure(stderr: string): string | undefined {
  const text = stripColour(stderr); // deno's own colours, if any
  const url = /error sending request for url \((\S+?)\)/.exec(text)?.[1];
  if (url) return `cannot download ${url}`;
  return /^error: (.*)$/m.exec(text)?.[1];
}

if (import.meta.main) Deno.exit(await main());
