/**
 * Paths mean what the user typed: a relative path given on the command line is taken from the
 * folder the command was run from. `deno task` runs tasks in the folder that holds `deno.json` and
 * tells the folder it was started from in `INIT_CWD`; without it, the working folder counts.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";

/**
 * The folder the user ran the command from: `INIT_CWD` (set by `deno task` and npm) when it is an
 * absolute path, else the working folder.
 */
export function userCwd(): string {
  const init = Deno.env.get("INIT_CWD");
  return init && isAbsolute(init) ? init : Deno.cwd();
}

/**
 * `path` as an absolute path, taken from `cwd` (default {@link userCwd}) when relative.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userPath } from "./paths.ts";
 * assert.equal(userPath("./shared", "/home/ann/work"), "/home/ann/work/shared");
 * assert.equal(userPath("/srv/share", "/home/ann"), "/srv/share");
 * ```
 */
export function userPath(path: string, cwd: string = userCwd()): string {
  return resolve(cwd, path);
}
