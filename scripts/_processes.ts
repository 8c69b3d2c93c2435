/**
 * Starting the project's own tracker and peer processes for the demo and the benchmark.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The project root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"];

/** A child process that printed its ready line. */
export interface Started {
  /** The ready line. */
  line: string;
  /** The process. */
  child: Deno.ChildProcess;
  /** Stops it with SIGTERM and waits. */
  stop(): Promise<void>;
}

/**
 * Starts `deno run <script> ...args` and waits for a stdout line matching `ready`.
 * stderr is passed through when `verbose`, else drained.
 */
export async function startProcess(
  script: string,
  args: string[],
  options: { ready: RegExp; env?: Record<string, string>; verbose?: boolean },
): Promise<Started> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, script, ...args],
    cwd: ROOT,
    env: options.env ?? {},
    stdin: "null",
    stdout: "piped",
    stderr: options.verbose ? "inherit" : "piped",
  }).spawn();
  if (!options.verbose) child.stderr.pipeTo(new WritableStream()).catch(() => {});
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    while (true) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`${script} exited before it was ready`);
      pending += value;
      const line = pending.split("\n").find((l) => options.ready.test(l));
      if (line) {
        // keep draining stdout so the child never blocks on a full pipe
        (async () => {
          while (!(await lines.read()).done) { /* drain */ }
        })().catch(() => {});
        return {
          line,
          child,
          async stop() {
            try {
              child.kill("SIGTERM");
            } catch { /* already gone */ }
            await child.status;
          },
        };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `deno run peer.ts ...args` to completion and returns its output. */
export async function runPeer(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, "peer.ts", ...args],
    cwd: ROOT,
    env,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Writes `mib` MiB of random bytes to `path` (a benchmark's test file). */
export async function writeRandomFile(path: string, mib: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < mib; i++) {
    for (let j = 0; j < block.length; j += 65536) {
      crypto.getRandomValues(block.subarray(j, j + 65536));
    }
    let done = 0;
    while (done < block.length) done += await file.write(block.subarray(done));
  }
}
