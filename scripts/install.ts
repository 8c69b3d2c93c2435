/**
 * `deno task install [--root DIR]`: installs `p2pfs-tracker` and `p2pfs-peer` as commands on the
 * PATH with `deno install --global`, with the same permissions as the `tracker` and `peer` tasks
 * and this project's `deno.json` (Deno KV). `--root DIR` installs into `DIR/bin` instead of
 * `~/.deno/bin`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./_processes.ts";

/** What the `tracker` and `peer` tasks allow, and so the installed commands too. */
export const PROGRAM_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
];

/** The programs installed, and their entry points. */
export const PROGRAMS: ReadonlyArray<{ name: string; script: string }> = [
  { name: "p2pfs-tracker", script: "tracker.ts" },
  { name: "p2pfs-peer", script: "peer.ts" },
];

/**
 * The `deno` arguments that install one program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installArgs } from "./install.ts";
 * const args = installArgs({ name: "p2pfs-peer", script: "peer.ts" }, "/tmp/x");
 * assert.ok(args.includes("--allow-run") && args.includes("p2pfs-peer"));
 * ```
 */
export function installArgs(program: { name: string; script: string }, root?: string): string[] {
  return [
    "install",
    "--global",
    "--force",
    "--config",
    join(ROOT, "deno.json"),
    ...PROGRAM_PERMISSIONS,
    "--name",
    program.name,
    ...(root ? ["--root", root] : []),
    join(ROOT, program.script),
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { root: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(
      "Usage: deno task install [--root DIR]\n\nInstalls p2pfs-tracker and p2pfs-peer on the PATH (~/.deno/bin, or DIR/bin).",
    );
    return 0;
  }
  for (const program of PROGRAMS) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: installArgs(program, values.root),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      const why = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1);
      console.error(`error: Cannot install ${program.name}: ${why}`);
      return 1;
    }
    console.log(`installed ${program.name}`);
  }
  const bin = values.root ? join(values.root, "bin") : "~/.deno/bin";
  console.log(`Run them as p2pfs-tracker and p2pfs-peer (${bin} must be on your PATH).`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
