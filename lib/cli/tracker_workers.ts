/**
 * `deno task tracker --workers N`: N tracker processes on one port (the kernel spreads
 * connections over them, `reusePort`) over one KV. Each worker is the tracker itself, sandboxed as
 * a single tracker is (read and write only its KV folder), started with `--worker I`; every worker
 * serves the dashboard too, on one HTTP port shared the same way, so the dashboard answers while
 * any worker is up (`/healthz` tells which worker answered, and its pid). This parent starts
 * them, prints one ready line and each worker's pid, restarts a worker that dies (after
 * {@link RESTART_BACKOFF_MIN_MS}, doubling up to {@link RESTART_BACKOFF_MAX_MS} while it keeps
 * dying young), passes SIGTERM (and SIGINT) on as SIGTERM and waits.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { OPEN_FILES_ENV, openFileLimit } from "../protocol/mod.ts";
import { SANDBOXED_ENV, sandboxFlags, type SandboxScope } from "./sandbox.ts";

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Set in a worker's environment (with or without a sandbox): it exits if its parent dies. */
export const WORKER_ENV = "P2PFS_TRACKER_WORKER";

/** How a worker reports that it listens. */
const READY = /^tracker listening on (\S+)$/;

/** How a worker reports where its dashboard is. */
const DASHBOARD = /^dashboard on (\S+)$/;

/** Lines a started worker is waited for. */
const START_TIMEOUT_MS = 30_000;

/** Wait before restarting a worker that died, the first time. */
export const RESTART_BACKOFF_MIN_MS = 250;

/** Longest wait before restarting a worker that keeps dying. */
export const RESTART_BACKOFF_MAX_MS = 30_000;

/** A worker that ran this long before dying is restarted after the shortest wait again. */
const HEALTHY_RUN_MS = 60_000;

/** A started worker: its process and the lines it printed until ready. */
interface Started {
  child: Deno.ChildProcess;
  /** `limits: …`, `tracker listening on …`, `dashboard on …`; null when it failed to start. */
  ready: string[] | null;
}

/**
 * Starts `count` workers with the tracker's `args` (sandboxed in `scope`, or with the tracker's
 * full permissions when null), keeps them running, and resolves to the exit code once all of them
 * stopped after a SIGTERM (or when the first one cannot start).
 */
export async function runTrackerWorkers(
  args: string[],
  count: number,
  scope: SandboxScope | null,
): Promise<number> {
  const permissions = scope
    ? sandboxFlags(scope)
    : ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];
  const running = new Map<number, Deno.ChildProcess>();
  let stopping = false;
  const stopped = new AbortController();
  const spawn = (id: number, extra: string[]): Deno.ChildProcess => {
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
    running.set(id, child);
    return child;
  };
  /** Starts worker `id` and waits until it listens on both ports (or fails). */
  const start = async (id: number, extra: string[]): Promise<Started> => {
    const child = spawn(id, extra);
    const childLines = lines(child.stdout);
    const wanted = [/^limits: /, READY, DASHBOARD];
    const seen: string[] = [];
    const deadline = AbortSignal.timeout(START_TIMEOUT_MS);
    while (seen.length < wanted.length && !deadline.aborted) {
      const next = await childLines.next();
      if (next.done) break;
      if (wanted[seen.length]!.test(next.value)) seen.push(next.value);
      else console.log(next.value);
    }
    drain(childLines);
    return { child, ready: seen.length === wanted.length ? seen : null };
  };
  const stopAll = () => {
    stopping = true;
    stopped.abort();
    for (const child of running.values()) {
      try {
        child.kill("SIGTERM");
      } catch {
        // it exited meanwhile
      }
    }
  };
  // Ctrl-C reaches the workers too (one process group); the parent must then stop restarting
  // them, and passes SIGTERM on for a SIGINT sent to it alone.
  Deno.addSignalListener("SIGTERM", stopAll);
  Deno.addSignalListener("SIGINT", stopAll);
  try {
    // Worker 1 picks the ports (they may be 0); the others, and every restarted worker, join them.
    const first = await start(1, []);
    if (!first.ready) {
      stopAll();
      const status = await first.child.status;
      return status.code || 1;
    }
    const address = READY.exec(first.ready[1]!)![1]!;
    const port = address.slice(address.lastIndexOf(":") + 1);
    const url = DASHBOARD.exec(first.ready[2]!)![1]!;
    const httpPort = new URL(url).port;
    const join = ["--port", port, "--http-port", httpPort];
    const others = await Promise.all(
      Array.from({ length: count - 1 }, (_, i) => start(i + 2, join)),
    );
    const failed = others.findIndex((other) => !other.ready);
    if (failed >= 0) {
      stopAll();
      await Promise.allSettled([first, ...others].map((w) => w.child.status));
      console.error(`tracker: worker ${failed + 2} did not start`);
      return 1;
    }
    console.log(first.ready[0]!);
    console.log(`tracker listening on ${address} (${count} workers)`);
    console.log(first.ready[2]!);
    console.log(
      `workers: ${
        [first, ...others].map((w, i) => `${i + 1} pid ${w.child.pid}`).join(", ")
      } (a worker that dies is restarted)`,
    );
    const supervise = async (id: number, child: Deno.ChildProcess): Promise<number> => {
      let backoffMs = RESTART_BACKOFF_MIN_MS;
      while (true) {
        const since = Date.now();
        const status = await child.status;
        running.delete(id);
        if (stopping) return status.signal ? 0 : status.code;
        if (Date.now() - since >= HEALTHY_RUN_MS) backoffMs = RESTART_BACKOFF_MIN_MS;
        const how = status.signal ? `on ${status.signal}` : `with code ${status.code}`;
        console.error(
          `tracker: worker ${id} (pid ${child.pid}) exited ${how}; restarting it in ${backoffMs} ms`,
        );
        await delay(backoffMs, undefined, { signal: stopped.signal }).catch(() => {});
        backoffMs = Math.min(backoffMs * 2, RESTART_BACKOFF_MAX_MS);
        if (stopping) return 0;
        const again = await start(id, join);
        if (stopping) {
          try {
            again.child.kill("SIGTERM");
          } catch {
            // it exited meanwhile
          }
          await again.child.status;
          return 0;
        }
        child = again.child;
        if (again.ready) console.error(`tracker: worker ${id} restarted (pid ${child.pid})`);
      }
    };
    const codes = await Promise.all(
      [first, ...others].map((worker, i) => supervise(i + 1, worker.child)),
    );
    return Math.max(0, ...codes);
  } finally {
    stopAll();
    Deno.removeSignalListener("SIGTERM", stopAll);
    Deno.removeSignalListener("SIGINT", stopAll);
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
