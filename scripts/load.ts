/**
 * The tracker load check, open-loop: simulated peers in worker processes
 * (`scripts/_load_client.ts`) send requests at a set rate whatever the answers do, and latency
 * counts from the moment each request was due. It reports, per request kind and overall,
 * requests/s, p50/p99/max, the tracker's CPU time per request (from `/proc/PID/stat`, summed over
 * the tracker's processes: its sandboxed child and every worker) and its RSS. Used by
 * `tests/integration/load_test.ts` and `scripts/bench.ts`; run by itself it starts its own tracker
 * and prints the figures. Scenarios (`LOAD_SCENARIO`):
 *
 * - `mix` (default): 500 peers in 4 processes, 20 files each from a pool of 1,000 (10,000 holder
 *   rows), registering and logging in through the protocol (`LOAD_ACCOUNTS=seeded`: accounts
 *   written into the KV first with a cheap scrypt cost, 20 registered for real);
 * - `index`: 10,000 peers × 10 files of a pool of 100,000 (100,000 holder rows, 100,000 files),
 *   with accounts, sessions, addresses and shares written into the KV before the tracker starts;
 *
 * at `LOAD_RATE` requests/s (default 2,000; far above capacity to measure saturation), one third
 * heartbeats, two thirds `details`, a `list` now and then (`LOAD_MIX`), against a tracker with
 * `LOAD_WORKERS` workers (default 1):
 *
 * ```sh
 * LOAD_SECONDS=20 LOAD_ACCOUNTS=seeded deno run -A scripts/load.ts
 * LOAD_SCENARIO=index LOAD_RATE=2000 deno run -A scripts/load.ts
 * LOAD_RATE=20000 LOAD_WORKERS=2 LOAD_ACCOUNTS=seeded deno run -A scripts/load.ts
 * ```
 *
 * @module
 */
import { scryptSync } from "node:crypto";
import { join } from "node:path";
import { hashToken, KvTrackerStore, type PasswordHash } from "../lib/tracker/mod.ts";
import type { LoadOp, WorkerSummary } from "./_load_client.ts";
import { loadToken, loadUser, poolFile } from "./_load_client.ts";

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
  /** Files in the shared pool peers take theirs from. Default 1,000. */
  pool?: number;
  /** How many peers of each worker register through the protocol (the rest were seeded). */
  registerPerProcess?: number;
  /** Requests per second, all workers together, in the timed phase. Default 2,000. */
  rate?: number;
  /** Proportions of request kinds. Default `heartbeat:1,details:2,list:0.1`. */
  mix?: string;
  /** Sessions and shares were written into the KV ({@link seedShares}): skip log-in and announce. */
  seededSessions?: boolean;
  /** User name prefix. Default `load`. */
  prefix?: string;
  /** The password of every account. */
  password?: string;
  /** The tracker's process id, to read its CPU time and RSS (with its descendants). */
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
  /** Requests written in the timed phase (due at the set rate). */
  offered: number;
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
  /** The tracker's resident set at the end, MB, summed over its processes. */
  trackerRssMb: number | null;
  /** The tracker's CPU time (user + system, all its processes) during the timed phase, ms. */
  trackerCpuMs: number | null;
  /** Tracker CPU per answered request, µs. */
  cpuUsPerRequest: number | null;
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

/** Resident set (VmRSS) of a process and its descendants, summed, in MB; null if unreadable. */
export function rssMb(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    if (kb === undefined) return null;
    let total = Number(kb) / 1024;
    for (const child of childPids(pid)) total += rssMb(child) ?? 0;
    return total;
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system) a process and its descendants used so far, in ms, from
 * `/proc/PID/stat` (fields 14 and 15, in clock ticks of 10 ms); null if unreadable.
 */
export function cpuMs(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name may hold spaces; the fields after it are counted from its ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    let total = (Number(fields[11]) + Number(fields[12])) * 10;
    for (const child of childPids(pid)) total += cpuMs(child) ?? 0;
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
  await seed(kvPath, options, false);
}

/**
 * Writes everything a peer's set-up would into a tracker's KV file, before it starts: accounts
 * (cheap scrypt cost), a session per peer (token {@link loadToken}), its address and its shares
 * — for runs too large to set up through the protocol in reasonable time (10,000 peers).
 */
export async function seedShares(kvPath: string, options: LoadOptions = {}): Promise<void> {
  await seed(kvPath, options, true);
}

async function seed(kvPath: string, options: LoadOptions, sessions: boolean): Promise<void> {
  const processes = options.processes ?? 4;
  const perProcess = options.peersPerProcess ?? 125;
  const skip = options.registerPerProcess ?? 0;
  const password = options.password ?? "load-password";
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const [N, r, p] = [1024, 8, 1];
  const key = scryptSync(password, salt, 32, { N, r, p });
  const hash: PasswordHash = { salt: salt.toHex(), hash: new Uint8Array(key).toHex(), N, r, p };
  await using store = await KvTrackerStore.open(kvPath);
  const prefix = options.prefix ?? "load";
  const filesEach = options.filesPerPeer ?? 20;
  const pool = options.pool ?? 1000;
  const files = sessions ? Array.from({ length: pool }, (_, i) => poolFile(i, prefix)) : [];
  const now = Date.now();
  const indexes: number[] = [];
  for (let w = 0; w < processes; w++) {
    for (let i = sessions ? 0 : skip; i < perProcess; i++) indexes.push(w * perProcess + i);
  }
  // A few writers at once: KV commits are short, and one file serializes them anyway.
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const user = loadUser(prefix, index);
      await store.createUser(user, { password: hash, createdAt: now });
      if (!sessions) continue;
      const tokenHash = hashToken(loadToken(prefix, index));
      await store.putSession(tokenHash, { user, expiresAt: now + 24 * 3600_000 }, now);
      await store.putPeer(user, {
        host: "127.0.0.1",
        port: 20_000 + (index % 40_000),
        lastSeen: now,
        online: true,
        session: tokenHash,
      });
      const mine = Array.from(
        { length: filesEach },
        (_, k) => files[(index * filesEach + k) % pool]!,
      );
      await store.putShares(user, mine, true, now);
    }
  }));
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
        "--pool",
        String(options.pool ?? 1000),
        "--register",
        String(options.registerPerProcess ?? perProcess),
        "--prefix",
        options.prefix ?? "load",
        "--rate",
        String((options.rate ?? 2000) / processes),
        "--mix",
        options.mix ?? "heartbeat:1,details:2,list:0.1",
        ...(options.seededSessions ? ["--seeded"] : []),
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
    const pid = options.trackerPid;
    const cpuBefore = pid === undefined ? null : cpuMs(pid);
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
    const cpuAfter = pid === undefined ? null : cpuMs(pid);
    await Promise.all(workers.map((worker) => worker.status));
    await Promise.all(stderr);
    const cpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
    return aggregate(summaries, pid, cpu);
  } finally {
    options.signal?.removeEventListener("abort", kill);
  }
}

function aggregate(
  summaries: WorkerSummary[],
  trackerPid: number | undefined,
  trackerCpuMs: number | null,
): LoadResult {
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
    offered: summaries.reduce((sum, s) => sum + s.offered, 0),
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
    trackerRssMb: trackerPid === undefined ? null : rssMb(trackerPid),
    trackerCpuMs,
    cpuUsPerRequest: trackerCpuMs === null || requests === 0
      ? null
      : Math.round((trackerCpuMs * 1000) / requests),
  };
}

/** The tracker flags a load run needs: 500 connections from one address exceed the default cap. */
export const LOAD_TRACKER_FLAGS: readonly string[] = [
  "--max-connections",
  "12000",
  "--max-per-address",
  "12000",
  // 500 peers log in (and may register) at once from one address.
  "--max-waiting-hashes",
  "1024",
  "--max-registrations",
  "1024",
  "--max-unauthenticated",
  "12000",
];

async function main(): Promise<void> {
  const seconds = Number(Deno.env.get("LOAD_SECONDS") ?? 20);
  const scenario = Deno.env.get("LOAD_SCENARIO") ?? "mix";
  const seeded = Deno.env.get("LOAD_ACCOUNTS") === "seeded";
  const workers = Deno.env.get("LOAD_WORKERS") ?? "1";
  // LOAD_TMP puts the KV file elsewhere (e.g. /dev/shm, to see what fsync costs).
  const tmp = Deno.env.get("LOAD_TMP");
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-load-", ...(tmp ? { dir: tmp } : {}) });
  // LOAD_KV keeps the seeded KV file at that path for the next run (seeding 10,000 peers takes
  // minutes); a file that exists is used as it is.
  const kept = Deno.env.get("LOAD_KV");
  const kvPath = kept ?? join(dir, "tracker.kv");
  const reuse = kept !== undefined && await Deno.stat(kept).then(() => true, () => false);
  const big = scenario === "index";
  const options: LoadOptions = {
    seconds,
    rate: Number(Deno.env.get("LOAD_RATE") ?? 2000),
    ...(Deno.env.get("LOAD_MIX") ? { mix: Deno.env.get("LOAD_MIX")! } : {}),
    ...(big
      ? { peersPerProcess: 2500, filesPerPeer: 10, pool: 100_000, seededSessions: true }
      : { registerPerProcess: seeded ? 5 : 125 }),
  };
  try {
    const seedStarted = performance.now();
    if (reuse) { /* seeded by an earlier run */ }
    else if (big) await seedShares(kvPath, options);
    else if (seeded) await seedAccounts(kvPath, options);
    console.error(`load: seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
    const tracker = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(Deno.env.get("LOAD_DENO_FLAGS")?.split(" ").filter(Boolean) ?? []),
        "tracker.ts",
        "--port",
        "0",
        "--http-port",
        "0",
        "--kv",
        kvPath,
        "--workers",
        workers,
        ...LOAD_TRACKER_FLAGS,
        ...(Deno.env.get("LOAD_TRACKER_ARGS")?.split(" ").filter(Boolean) ?? []),
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
      const rssBefore = rssMb(tracker.pid);
      console.error(
        `load: tracker ready, RSS ${
          rssBefore?.toFixed(0)
        } MB; ${scenario}, ${workers} worker(s), ${options.rate} requests/s for ${seconds} s`,
      );
      const result = await runLoad(address, { ...options, trackerPid: tracker.pid });
      console.log(JSON.stringify({ scenario, workers: Number(workers), ...result }, null, 2));
    } finally {
      tracker.kill("SIGTERM");
      await tracker.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
