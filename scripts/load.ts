/**
 * The tracker load check: 500 simulated peers (4 worker processes × 125, each running
 * `scripts/_load_client.ts`) log in, announce 20 files each, then heartbeat, list and ask details
 * against one tracker for `LOAD_SECONDS` (default 20), with no pause between requests. Used by
 * `tests/integration/load_test.ts` and `scripts/bench.ts`; run by itself it starts its own tracker
 * and prints the figures:
 *
 * ```sh
 * LOAD_SECONDS=20 deno run -A scripts/load.ts
 * ```
 *
 * Accounts: 1,000 full-cost scrypt hashes (a registration and a login per peer) take about a
 * minute of CPU on a 2-core machine, by design. With `accounts: "seeded"` (the test's choice, and
 * `LOAD_ACCOUNTS=seeded` here) the accounts are written into the tracker's KV file before it starts,
 * with a cheap scrypt cost recorded in each hash, and only the first few peers of each worker
 * register through the protocol; `"register"` (the default) registers every peer for real.
 *
 * @module
 */
import { scryptSync } from "node:crypto";
import { join } from "node:path";
import { KvTrackerStore, type PasswordHash } from "../lib/tracker/mod.ts";
import type { LoadOp, WorkerSummary } from "./_load_client.ts";
import { loadUser } from "./_load_client.ts";

const ROOT = join(import.meta.dirname!, "..");

/** Settings of {@link runLoad}. */
export interface LoadOptions {
  /** Worker processes. Default 4. */
  processes?: number;
  /** Simulated peers per process. Default 125. */
  peersPerProcess?: number;
  /** Length of the timed phase. Default 20 s. */
  seconds?: number;
  /** Files each peer announces. Default 20. */
  filesPerPeer?: number;
  /** How many peers of each worker register through the protocol (the rest were seeded). */
  registerPerProcess?: number;
  /** A `list` every this many rounds of each peer (a round: heartbeat, 2 details); 0: none.
   * Default 10. */
  listEvery?: number;
  /**
   * Total requests per second to aim at, paced per peer (each waits out the rest of its round);
   * unset: every peer sends its next request as soon as the last is answered (a closed loop).
   */
  targetRate?: number;
  /** User name prefix. Default `load`. */
  prefix?: string;
  /** The password of every account. */
  password?: string;
  /** The tracker's process id, to read its peak RSS at the end. */
  trackerPid?: number;
  /** Kills the workers when aborted. */
  signal?: AbortSignal;
}

/** Percentiles of a set of latencies, in ms. */
export interface LatencyFigures {
  /** Requests measured. */
  count: number;
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Slowest. */
  max: number;
}

/** What a load run measured. */
export interface LoadResult {
  /** Simulated peers. */
  peers: number;
  /** Requests answered in the timed phase. */
  requests: number;
  /** Requests of the timed phase, by kind. */
  byOp: Partial<Record<LoadOp, number>>;
  /** Failed requests, in either phase. */
  errors: number;
  /** Some error messages. */
  errorSamples: string[];
  /** Length of the timed phase (the slowest worker's), seconds. */
  seconds: number;
  /** Requests answered per second in the timed phase, all workers together. */
  requestsPerSecond: number;
  /** Latency of the timed phase's requests. */
  latency: LatencyFigures;
  /** Latency of the timed phase's requests, by kind. */
  latencyByOp: Partial<Record<LoadOp, LatencyFigures>>;
  /** Set-up requests by kind: how many and their latency. */
  setup: Partial<Record<LoadOp, LatencyFigures>>;
  /** Longest set-up phase of a worker, seconds. */
  setupSeconds: number;
  /** The tracker's peak resident set (VmHWM), MB, if its pid was given. */
  trackerPeakRssMb: number | null;
}

/** The `q` quantile (0..1) of ascending `sorted`, nearest rank. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? sorted[0]!;
}

/**
 * Percentiles of `samples` in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latencyFigures } from "./load.ts";
 * assert.deepEqual(latencyFigures([3, 1, 2]), { count: 3, p50: 2, p99: 3, max: 3 });
 * ```
 */
export function latencyFigures(samples: number[]): LatencyFigures {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  return {
    count: list.length,
    p50: quantile(list, 0.5),
    p99: quantile(list, 0.99),
    max: list[list.length - 1] ?? 0,
  };
}

/**
 * Peak resident set (VmHWM) of a live process and its descendants, summed, in MB; null if it
 * cannot be read. The sum matters because the tracker and peers run their work in a sandboxed
 * child process: the process started is only a small parent waiting for it.
 */
export function peakRssMb(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /VmHWM:\s+(\d+)/.exec(status)?.[1];
    if (kb === undefined) return null;
    let total = Number(kb) / 1024;
    for (const child of childPids(pid)) total += peakRssMb(child) ?? 0;
    return total;
  } catch {
    return null;
  }
}

function childPids(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`);
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Creates the load run's accounts directly in a tracker's KV file, before the tracker starts,
 * with a cheap scrypt cost (N = 1024) recorded in each hash so logging in costs ≈ 1/16 of a normal
 * login. Users `skipPerProcess` first of each worker are left out: they register for real.
 *
 * @example
 * ```ts ignore
 * await seedAccounts(kvPath, { processes: 4, peersPerProcess: 125, registerPerProcess: 5 });
 * ```
 */
export async function seedAccounts(kvPath: string, options: LoadOptions = {}): Promise<void> {
  const processes = options.processes ?? 4;
  const perProcess = options.peersPerProcess ?? 125;
  const skip = options.registerPerProcess ?? 0;
  const password = options.password ?? "load-password";
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const [N, r, p] = [1024, 8, 1];
  const key = scryptSync(password, salt, 32, { N, r, p });
  const hash: PasswordHash = { salt: salt.toHex(), hash: new Uint8Array(key).toHex(), N, r, p };
  await using store = await KvTrackerStore.open(kvPath);
  for (let w = 0; w < processes; w++) {
    for (let i = skip; i < perProcess; i++) {
      const user = loadUser(options.prefix ?? "load", w * perProcess + i);
      await store.createUser(user, { password: hash, createdAt: Date.now() });
    }
  }
}

/**
 * Runs the load against the tracker at `trackerAddress` and aggregates what every worker saw.
 * Every account must exist already unless `registerPerProcess` covers all of them.
 *
 * @example
 * ```ts ignore
 * const result = await runLoad("127.0.0.1:7070", { seconds: 8, registerPerProcess: 125 });
 * console.log(result.requestsPerSecond, result.latency.p99);
 * ```
 */
export async function runLoad(
  trackerAddress: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const processes = options.processes ?? 4;
  const perProcess = options.peersPerProcess ?? 125;
  const seconds = options.seconds ?? 20;
  const workers = Array.from({ length: processes }, (_, w) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        join(ROOT, "scripts", "_load_client.ts"),
        "--tracker",
        trackerAddress,
        "--first",
        String(w * perProcess),
        "--count",
        String(perProcess),
        "--seconds",
        String(seconds),
        "--files",
        String(options.filesPerPeer ?? 20),
        "--register",
        String(options.registerPerProcess ?? perProcess),
        "--prefix",
        options.prefix ?? "load",
        "--list-every",
        String(options.listEvery ?? 10),
        "--round-ms",
        String(roundMsFor(options)),
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", P2PFS_PASSWORD: options.password ?? "load-password" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn());
  const kill = () => {
    for (const worker of workers) {
      try {
        worker.kill("SIGKILL");
      } catch {
        // exited already
      }
    }
  };
  options.signal?.addEventListener("abort", kill, { once: true });
  try {
    // Every worker's stdout is read line by line: `ready`, then its summary.
    const outputs = workers.map((worker) => {
      const lines = worker.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let pending = "";
      return async (): Promise<string | null> => {
        while (!pending.includes("\n")) {
          const { value, done } = await lines.read();
          if (done) return null;
          pending += value;
        }
        const at = pending.indexOf("\n");
        const line = pending.slice(0, at);
        pending = pending.slice(at + 1);
        return line;
      };
    });
    const stderr = workers.map((worker) => new Response(worker.stderr).text());
    const failed = async (w: number, what: string) => {
      kill();
      throw new Error(`Cannot run load worker ${w}: ${what}\n${await stderr[w]}`);
    };
    for (const [w, next] of outputs.entries()) {
      if ((await next()) !== "ready") await failed(w, "it did not get ready");
    }
    // All set up: start every timed phase at once.
    await Promise.all(workers.map(async (worker) => {
      const writer = worker.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    }));
    const summaries: WorkerSummary[] = [];
    for (const [w, next] of outputs.entries()) {
      const line = await next();
      if (line === null) await failed(w, "it exited without a summary");
      summaries.push(JSON.parse(line!) as WorkerSummary);
    }
    await Promise.all(workers.map((worker) => worker.status));
    await Promise.all(stderr);
    return aggregate(summaries, options.trackerPid);
  } finally {
    options.signal?.removeEventListener("abort", kill);
  }
}

function aggregate(summaries: WorkerSummary[], trackerPid: number | undefined): LoadResult {
  const byOp: Partial<Record<LoadOp, number>> = {};
  const setupSamples: Partial<Record<LoadOp, number[]>> = {};
  const loadSamples: Partial<Record<LoadOp, number[]>> = {};
  let requests = 0;
  for (const summary of summaries) {
    for (const [op, n] of Object.entries(summary.requests) as [LoadOp, number][]) {
      byOp[op] = (byOp[op] ?? 0) + n;
      requests += n;
    }
    for (const [op, samples] of Object.entries(summary.setupLatencies) as [LoadOp, number[]][]) {
      (setupSamples[op] ??= []).push(...samples);
    }
    for (const [op, samples] of Object.entries(summary.latencies) as [LoadOp, number[]][]) {
      (loadSamples[op] ??= []).push(...samples);
    }
  }
  const seconds = Math.max(...summaries.map((s) => s.elapsedMs)) / 1000;
  const figures = (samples: Partial<Record<LoadOp, number[]>>) => {
    const out: Partial<Record<LoadOp, LatencyFigures>> = {};
    for (const [op, list] of Object.entries(samples) as [LoadOp, number[]][]) {
      out[op] = latencyFigures(list);
    }
    return out;
  };
  return {
    peers: summaries.reduce((sum, s) => sum + s.peers, 0),
    requests,
    byOp,
    errors: summaries.reduce((sum, s) => sum + s.errors, 0),
    errorSamples: summaries.flatMap((s) => s.errorSamples).slice(0, 10),
    seconds,
    requestsPerSecond: seconds > 0 ? requests / seconds : 0,
    latency: latencyFigures(Object.values(loadSamples).flat()),
    latencyByOp: figures(loadSamples),
    setup: figures(setupSamples),
    setupSeconds: Math.max(...summaries.map((s) => s.setupMs)) / 1000,
    trackerPeakRssMb: trackerPid === undefined ? null : peakRssMb(trackerPid),
  };
}

/** The round length per peer that makes all peers together send `targetRate` requests/s. */
function roundMsFor(options: LoadOptions): number {
  if (!options.targetRate) return 0;
  const peers = (options.processes ?? 4) * (options.peersPerProcess ?? 125);
  const listEvery = options.listEvery ?? 10;
  const perRound = 3 + (listEvery > 0 ? 1 / listEvery : 0); // heartbeat, 2 details, some lists
  return (1000 * peers * perRound) / options.targetRate;
}

/** The tracker flags a load run needs: 500 connections from one address exceed the default cap. */
export const LOAD_TRACKER_FLAGS: readonly string[] = [
  "--max-per-address",
  "1024",
  // 500 peers log in (and may register) at once from one address.
  "--max-waiting-hashes",
  "1024",
  "--max-registrations",
  "1024",
  "--max-unauthenticated",
  "1024",
];

async function main(): Promise<void> {
  const seconds = Number(Deno.env.get("LOAD_SECONDS") ?? 20);
  const seeded = Deno.env.get("LOAD_ACCOUNTS") === "seeded";
  // LOAD_TMP puts the KV file elsewhere (e.g. /dev/shm, to see what fsync costs).
  const tmp = Deno.env.get("LOAD_TMP");
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-load-", ...(tmp ? { dir: tmp } : {}) });
  const kvPath = join(dir, "tracker.kv");
  const options: LoadOptions = {
    seconds,
    registerPerProcess: seeded ? 5 : 125,
    listEvery: Number(Deno.env.get("LOAD_LIST_EVERY") ?? 10),
    ...(Deno.env.get("LOAD_RATE") ? { targetRate: Number(Deno.env.get("LOAD_RATE")) } : {}),
  };
  try {
    if (seeded) await seedAccounts(kvPath, options);
    const tracker = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(Deno.env.get("LOAD_DENO_FLAGS")?.split(" ").filter(Boolean) ?? []),
        "tracker.ts",
        "--port",
        "0",
        "--kv",
        kvPath,
        ...LOAD_TRACKER_FLAGS,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const lines = tracker.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/tracker listening on (\S+)/.test(text)) {
        const { value, done } = await lines.read();
        if (done) throw new Error("Cannot start tracker: it exited");
        text += value;
      }
      (async () => {
        while (!(await lines.read()).done) { /* drain */ }
      })().catch(() => {});
      const address = /tracker listening on (\S+)/.exec(text)![1]!;
      const result = await runLoad(address, { ...options, trackerPid: tracker.pid });
      console.log(JSON.stringify(result, null, 2));
    } finally {
      tracker.kill("SIGTERM");
      await tracker.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
