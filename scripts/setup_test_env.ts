/**
 * First step of `deno task test`: the Debian packages the tests drive — Chromium (the dashboard's
 * browser test), openssl (a throwaway lab CA for the TLS tests), tmux and `script` from bsdutils
 * (the shell and the progress line on a pseudo-terminal). Missing ones are installed with
 * `apt-get` when running as root; otherwise it stops before any test and prints the one command
 * to run.
 *
 * @module
 */
import { join } from "node:path";

/** One package the tests need, and how to tell it is there. */
export interface TestPackage {
  /** The Debian package. */
  name: string;
  /** What the tests use it for. */
  why: string;
  /** A program it installs: an absolute path, or a name looked up on the PATH. */
  program: string;
}

/** What the tests drive. */
export const TEST_PACKAGES: readonly TestPackage[] = [
  { name: "chromium", why: "the dashboard's browser test", program: "/usr/bin/chromium" },
  { name: "openssl", why: "a lab CA for the TLS tests", program: "openssl" },
  { name: "tmux", why: "the shell on a terminal", program: "tmux" },
  { name: "bsdutils", why: "`script`, for the progress line on a terminal", program: "script" },
];

/** What to do about the missing packages. */
export type SetupPlan =
  | { action: "none" }
  | { action: "install"; commands: string[][] }
  | { action: "stop"; message: string };

/**
 * The plan for `missing` packages: nothing, install them (root with apt-get), or stop with the
 * command to run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupPlan, TEST_PACKAGES } from "./setup_test_env.ts";
 * const tmux = TEST_PACKAGES.filter((p) => p.name === "tmux");
 * assert.deepEqual(setupPlan([], { root: false, aptGet: true }), { action: "none" });
 * assert.equal(setupPlan(tmux, { root: true, aptGet: true }).action, "install");
 * const stop = setupPlan(tmux, { root: false, aptGet: true });
 * assert.ok(stop.action === "stop" && stop.message.includes("sudo apt-get install -y tmux"));
 * ```
 */
export function setupPlan(
  missing: readonly TestPackage[],
  system: { root: boolean; aptGet: boolean },
): SetupPlan {
  if (missing.length === 0) return { action: "none" };
  const names = missing.map((p) => p.name);
  if (system.root && system.aptGet) {
    return {
      action: "install",
      commands: [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", ...names]],
    };
  }
  const list = missing.map((p) => `${p.name} (${p.why})`).join(", ");
  const how = system.aptGet
    ? `run this once, then the tests again:\n  sudo apt-get install -y ${names.join(" ")}`
    : `install them with your system's package manager, then run the tests again`;
  return { action: "stop", message: `Cannot run the tests: missing ${list}; ${how}` };
}

/** Whether `program` (an absolute path, or a name on the PATH) is an executable file. */
export async function hasProgram(program: string): Promise<boolean> {
  const candidates = program.startsWith("/")
    ? [program]
    : (Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((dir) => join(dir, program));
  for (const path of candidates) {
    try {
      const info = await Deno.stat(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not there
    }
  }
  return false;
}

async function missingPackages(): Promise<TestPackage[]> {
  const missing: TestPackage[] = [];
  for (const pkg of TEST_PACKAGES) if (!await hasProgram(pkg.program)) missing.push(pkg);
  return missing;
}

async function main(): Promise<number> {
  const plan = setupPlan(await missingPackages(), {
    root: Deno.uid() === 0,
    aptGet: await hasProgram("apt-get"),
  });
  if (plan.action === "none") return 0;
  if (plan.action === "stop") {
    console.error(`error: ${plan.message}`);
    return 1;
  }
  for (const command of plan.commands) {
    console.error(`setup: ${command.join(" ")}`);
    const status = await new Deno.Command(command[0]!, {
      args: command.slice(1),
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!status.success) {
      console.error(`error: Cannot set up the tests: '${command.join(" ")}' failed`);
      return 1;
    }
  }
  const still = await missingPackages();
  if (still.length > 0) {
    console.error(
      `error: Cannot set up the tests: still missing ${still.map((p) => p.name).join(", ")}`,
    );
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
