/**
 * Sandboxes: `serve`, `shell` and `get` run in a child Deno process whose permissions are narrowed
 * to what the command needs — read the shared folder (and the download folder), write only the
 * download folder, the network, the environment — so even a bug in our own path checks cannot
 * read or write anything else: Deno's permission system refuses it. The tracker likewise runs in a
 * child that may read and write only its KV folder. The parent only waits for the child, passes
 * SIGTERM on, and returns its exit code; the child exits if the parent dies.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { OPEN_FILES_ENV, openFileLimit } from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";

/** Set in the child's environment; the CLI then runs the command itself. */
export const SANDBOXED_ENV = "P2PFS_SANDBOXED";

/** What a sandboxed command may touch. */
export interface SandboxScope {
  /** Paths it may read (folders include what is below them). */
  read: string[];
  /** Paths it may write. */
  write: string[];
}

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The whole-file hashing worker's script, which the child must be able to load. */
const WORKER_SCRIPT = resolve(PROJECT_ROOT, "lib", "peer", "_whole_hash_worker.ts");

/**
 * The scope of a command: `serve` reads its share; `shell` reads and writes its share (downloads
 * land there) and its download folder; `get` reads and writes its download folder. TLS files are
 * readable too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandboxScope } from "./sandbox.ts";
 * const scope = sandboxScope("serve", { share: "/srv/share" });
 * assert.deepEqual(scope?.write, []);
 * ```
 */
export function sandboxScope(
  command: string,
  paths: { share?: string; out?: string; tlsFiles?: string[]; kvDir?: string },
): SandboxScope | null {
  const share = paths.share ? resolve(paths.share) : undefined;
  const out = paths.out ? resolve(paths.out) : undefined;
  const tls = (paths.tlsFiles ?? []).map((p) => resolve(p));
  switch (command) {
    case "tracker": {
      const kv = paths.kvDir ? [resolve(paths.kvDir)] : [];
      return { read: [...kv, ...tls], write: kv };
    }
    case "serve":
      return { read: [share!, ...tls, WORKER_SCRIPT], write: [] };
    case "shell": {
      const folders = [...new Set([share!, out ?? share!])];
      return { read: [...folders, ...tls, WORKER_SCRIPT], write: folders };
    }
    case "get":
      return { read: [out!, ...tls, WORKER_SCRIPT], write: [out!] };
    default:
      return null;
  }
}

/**
 * The `deno run` permission flags for a scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandboxFlags } from "./sandbox.ts";
 * const flags = sandboxFlags({ read: ["/a", "/b"], write: ["/b"] });
 * assert.deepEqual(flags, ["--allow-net", "--allow-env", "--allow-read=/a,/b", "--allow-write=/b"]);
 * ```
 */
export function sandboxFlags(scope: SandboxScope): string[] {
  for (const path of [...scope.read, ...scope.write]) {
    if (path.includes(",")) {
      throw new CliError(
        `Cannot sandbox: the path ${path} contains a comma, which Deno's permission flags cannot express; run with --no-sandbox`,
        2,
      );
    }
  }
  return [
    "--allow-net",
    "--allow-env",
    ...(scope.read.length ? [`--allow-read=${scope.read.join(",")}`] : []),
    ...(scope.write.length ? [`--allow-write=${scope.write.join(",")}`] : []),
  ];
}

/** One line saying what the sandbox allows, for `serve` to print at start. */
export function describeScope(scope: SandboxScope): string {
  const write = scope.write.length ? scope.write.join(", ") : "nothing";
  const read = scope.read.filter((p) => p !== WORKER_SCRIPT).join(", ") || "nothing";
  return `sandbox: read ${read}; write ${write}; network; nothing else`;
}

/**
 * Runs the peer CLI again in a child process narrowed to `scope` and resolves to its exit code.
 * SIGTERM is passed on; SIGINT reaches the child from the terminal directly.
 */
export async function runSandboxed(
  args: string[],
  scope: SandboxScope,
  script: "peer.ts" | "tracker.ts" = "peer.ts",
): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--config",
      resolve(PROJECT_ROOT, "deno.json"),
      ...sandboxFlags(scope),
      resolve(PROJECT_ROOT, script),
      ...args,
    ],
    env: {
      [SANDBOXED_ENV]: "1",
      P2PFS_SANDBOX_SCOPE: JSON.stringify(scope),
      // The child may not read /proc; it has the same limit, so it is told.
      [OPEN_FILES_ENV]: String(openFileLimit() ?? ""),
    },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // it exited meanwhile
    }
  };
  const ignore = () => {};
  Deno.addSignalListener("SIGTERM", forward);
  Deno.addSignalListener("SIGINT", ignore);
  try {
    const status = await child.status;
    return status.signal ? 128 + signalNumber(status.signal) : status.code;
  } finally {
    Deno.removeSignalListener("SIGTERM", forward);
    Deno.removeSignalListener("SIGINT", ignore);
  }
}

/**
 * Whether this process can start a sandboxed copy of itself: it must run on the `deno` binary. A
 * program built with `deno compile` cannot, and runs with the permissions it was compiled with.
 */
export function canSandbox(): boolean {
  return /(^|[\\/])deno(\.exe)?$/.test(Deno.execPath());
}

/** The scope the parent gave this (sandboxed) process, if any. */
export function currentScope(): SandboxScope | null {
  const text = Deno.env.get("P2PFS_SANDBOX_SCOPE");
  if (!text) return null;
  try {
    return JSON.parse(text) as SandboxScope;
  } catch {
    return null;
  }
}

/**
 * In a sandboxed child: calls `onGone` once the process that started it is gone (even after
 * `kill -9`, when it could not pass a signal on). Checks four times a second; never keeps the
 * process alive by itself.
 */
export function watchParent(onGone: () => void): void {
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 250);
  Deno.unrefTimer(timer);
}

function signalNumber(signal: Deno.Signal): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}
