/**
 * Re-running a sandboxed peer command (`command.sandboxed`: `serve`, `shell`, `get`) in a child
 * process whose Deno permissions cover only its folders, with the same arguments made absolute
 * and the kept session handed on (the child may not read the config folder). See `sandbox.ts`.
 *
 * @module
 */
import { DOWNLOADS_DIR } from "../protocol/mod.ts";
import type { FlagValues } from "./command_spec.ts";
import { userCwd, userPath } from "./paths.ts";
import type { PeerCommand } from "./peer_host.ts";
import { type PeerSettings, SESSION_TOKEN_ENV } from "./peer_settings.ts";
import { canSandbox, runSandboxed, SANDBOXED_ENV, sandboxScope } from "./sandbox.ts";
import { stringValue } from "./flag_values.ts";

/**
 * Runs `command` in a sandboxed child when it is one that is sandboxed, this process is not the
 * child already, `--no-sandbox` was not given and the program can start one; resolves to the
 * child's exit code, or to undefined when the command is to run here.
 */
export async function runInSandbox(
  command: PeerCommand,
  values: FlagValues,
  positionals: readonly string[],
  settings: PeerSettings,
): Promise<number | undefined> {
  if (
    !command.sandboxed || Deno.env.get(SANDBOXED_ENV) === "1" || settings.noSandbox ||
    !canSandbox()
  ) {
    return undefined;
  }
  const { share, kept, tlsFiles } = settings;
  const isGet = command.name === "get";
  const out = stringValue(values.out) ?? (isGet ? userPath(DOWNLOADS_DIR) : share ?? userCwd());
  const scope = sandboxScope(command.name, { ...(share ? { share } : {}), out, tlsFiles });
  if (!scope) return undefined;
  const args = childArgs(
    command.name,
    { ...values, ...(share ? { share } : {}), ...(isGet ? { out } : {}) },
    positionals,
  );
  if (kept) {
    Deno.env.set(SESSION_TOKEN_ENV, kept.token);
    Deno.env.set("P2PFS_USER", kept.user);
  }
  return await runSandboxed(args, scope);
}

/**
 * The arguments a sandboxed child gets: the same command, with paths already absolute.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { childArgs } from "./peer_sandbox.ts";
 * assert.deepEqual(childArgs("get", { out: "/dl", force: true }, ["-a"]), [
 *   "get", "--out=/dl", "--force", "--", "-a",
 * ]);
 * ```
 */
export function childArgs(
  name: string,
  values: FlagValues,
  positionals: readonly string[],
): string[] {
  const flags = Object.entries(values).flatMap(([key, value]) =>
    value === true ? [`--${key}`] : typeof value === "string" ? [`--${key}=${value}`] : []
  );
  return [name, ...flags, "--", ...positionals];
}
