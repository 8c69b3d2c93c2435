/**
 * `deno task tracker --workers N`: N tracker processes on one port (the kernel spreads
 * connections over them, `reusePort`) over one KV. Each worker is the tracker itself, sandboxed as
 * a single tracker is (read and write only its KV folder), started with `--worker I`; worker 1
 * also serves the dashboard. This parent only starts them, prints one ready line, passes SIGTERM
 * on and waits; a worker that dies leaves the others serving.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { OPEN_FILES_ENV, openFileLimit } from "../protocol/mod.ts";
import { SANDBOXED_ENV, sandboxFlags, type SandboxScope } from "./sandbox.ts";

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Set in a worker's environment (with or without a sandbox): it exits if its parent dies. */
export const WORKER_ENV = "P2PFS_TRACKER_WORKER";

/** How a worker reports that it listens. */
const READY = /^tracker listening on (\S+)$/;

/** Lines a started worker is waited for. */
const START_TIMEOUT_MS = 30_000;

/**
 * Starts `count` workers with the tracker's `args` (sandboxed in `scope`, or with the tracker's
 * full permissions when null) and resolves to the exit code once all of them stopped.
 */
export async function runTrackerWorkers(
  args: string[],
  count: number,
  scope: SandboxScope | null,
): Promise<number> {
  const permissions = scope
    ? sandboxFlags(scope)
    : ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];
  const children: { child: Deno.ChildProcess; id: number }[] = [];
  const spawn = (id: number, extra: string[]) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--unstable-net",
        "--config",
        resolve(PROJECT_ROOT, "deno.json"),
        ...permissions,
        resolve(PROJECT_ROOT, "tracker.ts"),
        ...args,
        "--worker",
        String(id),
        ...extra,
      ],
      env: {
        [WORKER_ENV]: String(id),
        ...(scope ? { [SANDBOXED_ENV]: "1", P2PFS_SANDBOX_SCOPE: JSON.stringify(scope) } : {}),
        [OPEN_FILES_ENV]: String(openFileLimit() ?? ""),
      },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    children.push({ child, id });
    return child;
  };
  const stopAll = () => {
    for (const { child } of children) {
      try {
        child.kill("SIGTERM");
      } catch {
        // it exited meanwhile
      }
    }
  };
  const ignore = () => {};
  Deno.addSignalListener("SIGTERM", stopAll);
  Deno.addSignalListener("SIGINT", ignore);
  try {
    // Worker 1 picks the port (it may be 0) and serves the dashboard; the others join its port.
    const first = spawn(1, []);
    const firstLines = lines(first.stdout);
    const wanted = [/^limits: /, READY, /^dashboard on /];
    const seen: string[] = [];
    const deadline = AbortSignal.timeout(START_TIMEOUT_MS);
    while (seen.length < wanted.length && !deadline.aborted) {
      const next = await firstLines.next();
      if (next.done) break;
      if (wanted[seen.length]!.test(next.value)) seen.push(next.value);
      else console.log(next.value);
    }
    if (seen.length < wanted.length) {
      stopAll();
      const status = await first.status;
      return status.code || 1;
    }
    drain(firstLines);
    const address = READY.exec(seen[1]!)![1]!;
    const port = address.slice(address.lastIndexOf(":") + 1);
    const others = await Promise.all(
      Array.from({ length: count - 1 }, async (_, i) => {
        const child = spawn(i + 2, ["--port", port]);
        const childLines = lines(child.stdout);
        while (true) {
          const next = await childLines.next();
          if (next.done || READY.test(next.value)) break;
        }
        drain(childLines);
        return child;
      }),
    );
    console.log(seen[0]!);
    console.log(`tracker listening on ${address} (${1 + others.length} workers)`);
    console.log(seen[2]!);
    const statuses = await Promise.all(children.map(async ({ child, id }) => {
      const status = await child.status;
      if (!status.success && !status.signal) {
        console.error(`tracker: worker ${id} exited with code ${status.code}`);
      }
      return status;
    }));
    return Math.max(0, ...statuses.map((s) => s.signal ? 0 : s.code));
  } finally {
    stopAll();
    Deno.removeSignalListener("SIGTERM", stopAll);
    Deno.removeSignalListener("SIGINT", ignore);
  }
}

/** A child's stdout as lines. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const parts = pending.split("\n");
    pending = parts.pop()!;
    yield* parts;
  }
  if (pending) yield pending;
}

/** Passes the rest of a child's output on, so its pipe never fills. */
function drain(rest: AsyncGenerator<string>): void {
  (async () => {
    for await (const line of rest) console.log(line);
  })().catch(() => {});
}
