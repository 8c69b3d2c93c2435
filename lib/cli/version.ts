/**
 * The program's version, printed by `p2pfs-peer --version` and `p2pfs-tracker --version`.
 *
 * @module
 */

/** The p2pfs version (the wire protocol has its own, `PROTOCOL_VERSION`). */
export const VERSION = "0.12.0";

/**
 * The `--version` line of a program: its name, version, and the Deno it runs on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { versionLine } from "./version.ts";
 * assert.match(versionLine("p2pfs-peer"), /^p2pfs-peer \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+\)$/);
 * ```
 */
export function versionLine(program: string): string {
  return `${program} ${VERSION} (deno ${Deno.version.deno})`;
}
