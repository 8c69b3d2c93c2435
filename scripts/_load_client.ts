/**
 * One worker process of the tracker load check (`scripts/load.ts`): simulates `--count` peers,
 * each with its own tracker connection ({@link TrackerClient}). Each peer logs in (after
 * registering, for the first `--register` of them), announces `--files` fake files, then prints
 * `ready` and waits for a line on stdin; after it, every peer loops over heartbeat, list and
 * details requests for `--seconds`, with no pause between them. At the end the worker prints one
 * JSON {@link WorkerSummary} line on stdout.
 *
 * Usage: `deno run -A scripts/_load_client.ts --tracker HOST:PORT --first 0 --count 125
 * --seconds 20 [--files 20] [--pool 1000] [--register N] [--prefix load] [--list-every 10]` with
 * the password in `P2PFS_PASSWORD`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import type { FileManifest } from "../lib/protocol/mod.ts";
import { parseAddress, TrackerClient } from "../lib/peer/mod.ts";

/** The kinds of request a simulated peer makes. */
export type LoadOp = "register" | "login" | "announce" | "heartbeat" | "list" | "details";

/** What one worker process reports. */
export interface WorkerSummary {
  /** Simulated peers in this process. */
  peers: number;
  /** Requests answered without error in the timed phase, by kind. */
  requests: Partial<Record<LoadOp, number>>;
  /** Requests of the set-up phase (register, login, announce), by kind. */
  setup: Partial<Record<LoadOp, number>>;
  /** How long the set-up phase took, ms. */
  setupMs: number;
  /** Requests that failed, in either phase. */
  errors: number;
  /** Up to 10 error messages, to tell what went wrong. */
  errorSamples: string[];
  /** Length of the timed phase, ms. */
  elapsedMs: number;
  /** Latency of every timed-phase request in ms, by kind (a uniform sample if very many). */
  latencies: Partial<Record<LoadOp, number[]>>;
  /** Latency of every set-up request in ms, by kind. */
  setupLatencies: Partial<Record<LoadOp, number[]>>;
}

/** Most latency samples a worker ships back; beyond it a reservoir keeps a uniform sample. */
const MAX_SAMPLES = 200_000;

/** The `i`-th file of the shared pool: the same for every worker, so peers share versions. */
export function poolFile(i: number, prefix: string): FileManifest {
  const digest = (text: string) => createHash("sha256").update(text).digest("hex");
  const size = 300_000 * (1 + (i % 7));
  const chunkSize = 1 << 20;
  return {
    name: `${prefix}/dir${String(i % 50).padStart(2, "0")}/file${String(i).padStart(4, "0")}.bin`,
    size,
    chunkSize,
    sha256: digest(`${prefix} file ${i}`),
    chunkHashes: Array.from(
      { length: Math.ceil(size / chunkSize) },
      (_, c) => digest(`${prefix} file ${i} chunk ${c}`),
    ),
  };
}

/** The user name of simulated peer `index`. */
export function loadUser(prefix: string, index: number): string {
  return `${prefix}${String(index).padStart(4, "0")}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tracker: { type: "string" },
      first: { type: "string", default: "0" },
      count: { type: "string", default: "125" },
      seconds: { type: "string", default: "20" },
      files: { type: "string", default: "20" },
      pool: { type: "string", default: "1000" },
      register: { type: "string", default: "0" },
      prefix: { type: "string", default: "load" },
      "list-every": { type: "string", default: "10" },
      "round-ms": { type: "string", default: "0" },
    },
  });
  const address = parseAddress(values.tracker ?? "127.0.0.1:7070");
  const first = Number(values.first);
  const count = Number(values.count);
  const seconds = Number(values.seconds);
  const filesEach = Number(values.files);
  const pool = Number(values.pool);
  const registering = Number(values.register);
  const prefix = values.prefix;
  const listEvery = Number(values["list-every"]);
  // A round at most this often per peer (0: back to back, a closed loop with no think time).
  const roundMs = Number(values["round-ms"]);
  const password = Deno.env.get("P2PFS_PASSWORD") ?? "load-password";

  const files = Array.from({ length: pool }, (_, i) => poolFile(i, prefix));
  const summary: WorkerSummary = {
    peers: count,
    requests: {},
    setup: {},
    setupMs: 0,
    errors: 0,
    errorSamples: [],
    elapsedMs: 0,
    latencies: {},
    setupLatencies: {},
  };
  const seen: Partial<Record<LoadOp, number>> = {};
  const fail = (op: LoadOp, error: unknown) => {
    summary.errors++;
    if (summary.errorSamples.length < 10) {
      summary.errorSamples.push(`${op}: ${error instanceof Error ? error.message : error}`);
    }
  };
  /** Times `call` and counts it under `op` in `phase`; a failure is counted and swallowed. */
  const timed = async (
    op: LoadOp,
    phase: "setup" | "load",
    call: () => Promise<unknown>,
  ): Promise<boolean> => {
    const started = performance.now();
    try {
      await call();
    } catch (error) {
      fail(op, error);
      return false;
    }
    const ms = Math.round((performance.now() - started) * 100) / 100;
    if (phase === "setup") {
      summary.setup[op] = (summary.setup[op] ?? 0) + 1;
      (summary.setupLatencies[op] ??= []).push(ms);
      return true;
    }
    summary.requests[op] = (summary.requests[op] ?? 0) + 1;
    const count = seen[op] = (seen[op] ?? 0) + 1;
    const samples = summary.latencies[op] ??= [];
    if (samples.length < MAX_SAMPLES) samples.push(ms);
    else {
      const slot = Math.floor(Math.random() * count);
      if (slot < MAX_SAMPLES) samples[slot] = ms;
    }
    return true;
  };

  // Set-up: connect, register (some), log in, announce.
  const setupStarted = performance.now();
  const peers = await Promise.all(Array.from({ length: count }, async (_, i) => {
    const index = first + i;
    const user = loadUser(prefix, index);
    let client: TrackerClient;
    try {
      client = await TrackerClient.connect(address, { agent: "p2pfs-load", timeoutMs: 60_000 });
    } catch (error) {
      fail("login", error);
      return null;
    }
    if (i < registering) {
      if (!await timed("register", "setup", () => client.register(user, password))) return null;
    }
    let token = "";
    const loggedIn = await timed("login", "setup", async () => {
      token = (await client.login(user, password)).token;
    });
    if (!loggedIn) return null;
    const mine = Array.from(
      { length: filesEach },
      (_, k) => files[(index * filesEach + k) % pool]!,
    );
    const announced = await timed(
      "announce",
      "setup",
      () => client.announce(token, { host: "127.0.0.1", port: 20_000 + (index % 40_000) }, mine),
    );
    return announced ? { client, token, index } : null;
  }));
  summary.setupMs = Math.round(performance.now() - setupStarted);

  // Wait for the go-ahead, so every worker's timed phase starts together.
  console.log("ready");
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  reader.releaseLock();

  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(peers.map(async (peer) => {
    if (!peer) return;
    const { client, token } = peer;
    let turn = peer.index;
    // With a pace, peers start spread over one round, so they do not all ask at once.
    if (roundMs > 0) await new Promise((done) => setTimeout(done, Math.random() * roundMs));
    while (performance.now() < deadline) {
      turn++;
      const roundStart = performance.now();
      // Per peer and round: a heartbeat, two details and, every `--list-every` rounds (never if
      // 0), a list of one folder (about 20 files).
      const file = files[(turn * 7919) % pool]!;
      await timed("heartbeat", "load", () => client.heartbeat(token));
      await timed("details", "load", () => client.details(token, file.name));
      if (listEvery > 0 && turn % listEvery === 0) {
        const folder = `dir${String(turn % 50).padStart(2, "0")}/`;
        await timed("list", "load", () => client.list(token, { search: folder }));
      }
      await timed(
        "details",
        "load",
        () => client.details(token, file.name, { sha256: file.sha256 }),
      );
      const wait = roundStart + roundMs - performance.now();
      if (wait > 0 && performance.now() + wait < deadline) {
        await new Promise((done) => setTimeout(done, wait));
      }
    }
  }));
  summary.elapsedMs = Math.round(performance.now() - started);
  for (const peer of peers) peer?.client.close();
  console.log(JSON.stringify(summary));
}

if (import.meta.main) await main();
