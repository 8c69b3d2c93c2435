/**
 * One worker process of the tracker load check (`scripts/load.ts`): simulates `--count` peers.
 * Set-up: each peer logs in (after registering, for the first `--register` of them) and announces
 * `--files` fake files through a {@link TrackerClient} — or, with `--seeded`, uses the session
 * and the shares `scripts/load.ts` wrote into the tracker's KV before it started. Then it prints
 * `ready` and waits for a line on stdin.
 *
 * The timed phase is **open-loop**: requests are due at a fixed rate (`--rate` per second for
 * this worker), spread round-robin over the peers' connections, and each is written when it is
 * due whatever the earlier ones did (several may wait on one connection, answered in order).
 * Latency counts from the moment a request was due, so a slow tracker shows as latency, not as
 * fewer requests (no coordinated omission). The clients are cheap: each peer's frames (hello,
 * heartbeat, a few `details`, a `list`) are encoded once; a reply is only framed and checked for
 * `"type":"error"`, never parsed. At the end the worker prints one JSON {@link WorkerSummary}.
 *
 * Usage: `deno run -A scripts/_load_client.ts --tracker HOST:PORT --first 0 --count 125
 * --seconds 20 --rate 500 [--files 20] [--pool 1000] [--register N] [--prefix load]
 * [--mix heartbeat:1,details:2,list:0.1] [--seeded]` with the password in `P2PFS_PASSWORD`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import {
  decodeFrameLength,
  encodeFrame,
  type FileManifest,
  FRAME_HEADER_BYTES,
  PROTOCOL_VERSION,
} from "../lib/protocol/mod.ts";
import { parseAddress, processDownloaderKey, TrackerClient } from "../lib/peer/mod.ts";

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
  /** Requests that failed, in either phase (error replies, and requests never answered). */
  errors: number;
  /** Requests written in the timed phase (due at the set rate). */
  offered: number;
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

/** The session token `scripts/load.ts` seeds for simulated peer `index` (`--seeded`). */
export function loadToken(prefix: string, index: number): string {
  return createHash("sha256").update(`load token ${prefix} ${index}`).digest("base64url");
}

/**
 * The request kinds of the timed phase in their proportions, as one repeating sequence: `mix`
 * `heartbeat:1,details:2,list:0.1` gives 10 heartbeats, 20 details and 1 list per 31 requests.
 */
export function opSequence(mix: string): LoadOp[] {
  const weights = mix.split(",").map((part) => {
    const [op, weight] = part.split(":");
    return { op: op as LoadOp, weight: Number(weight ?? 1) };
  }).filter((w) => w.weight > 0);
  const scale = 1 / Math.min(...weights.map((w) => w.weight));
  const counts = weights.map((w) => ({ op: w.op, left: Math.round(w.weight * scale) }));
  const total = counts.reduce((sum, c) => sum + c.left, 0);
  // Interleaved, not in blocks: each step takes the kind furthest behind its share.
  const out: LoadOp[] = [];
  const taken = new Map<LoadOp, number>();
  for (let i = 0; i < total; i++) {
    let best = counts[0]!;
    let lag = -Infinity;
    for (const c of counts) {
      const share = (c.left + (taken.get(c.op) ?? 0)) / total;
      const behind = share * (i + 1) - (taken.get(c.op) ?? 0);
      if (c.left > 0 && behind > lag) {
        lag = behind;
        best = c;
      }
    }
    best.left--;
    taken.set(best.op, (taken.get(best.op) ?? 0) + 1);
    out.push(best.op);
  }
  return out;
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
      rate: { type: "string", default: "500" },
      mix: { type: "string", default: "heartbeat:1,details:2,list:0.1" },
      seeded: { type: "boolean", default: false },
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
  const rate = Number(values.rate);
  const sequence = opSequence(values.mix);
  const password = Deno.env.get("P2PFS_PASSWORD") ?? "load-password";

  const files = Array.from({ length: pool }, (_, i) => poolFile(i, prefix));
  const summary: WorkerSummary = {
    peers: count,
    requests: {},
    setup: {},
    setupMs: 0,
    errors: 0,
    offered: 0,
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

  // Set-up: connect, register (some), log in, announce; or take the seeded sessions.
  const setupStarted = performance.now();
  const tokens = await Promise.all(Array.from({ length: count }, async (_, i) => {
    const index = first + i;
    if (values.seeded) return { token: loadToken(prefix, index), index };
    const user = loadUser(prefix, index);
    let client: TrackerClient;
    try {
      client = await TrackerClient.connect(address, { agent: "p2pfs-load", timeoutMs: 60_000 });
    } catch (error) {
      fail("login", error);
      return null;
    }
    try {
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
      return announced ? { token, index } : null;
    } finally {
      client.close();
    }
  }));
  // One raw connection per peer for the timed phase, greeted, with its frames encoded once.
  const key = (await processDownloaderKey()).publicKey;
  const frame = (message: unknown) =>
    encodeFrame(new TextEncoder().encode(JSON.stringify(message)));
  const hello = frame({ type: "hello", version: PROTOCOL_VERSION, agent: "p2pfs-load" });
  const peers = (await Promise.all(tokens.map(async (entry) => {
    if (!entry) return null;
    const { token, index } = entry;
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect(address);
      conn.setNoDelay(true);
      await conn.write(hello);
      await readFrame(conn);
      // A request with the token marks the connection logged in (no unauthenticated idle limit).
      await conn.write(frame({ type: "heartbeat", token }));
      await readFrame(conn);
    } catch (error) {
      fail("login", error);
      return null;
    }
    const own = Array.from({ length: 4 }, (_, k) => files[(index * filesEach + k) % pool]!);
    return new RawPeer(conn, {
      heartbeat: [frame({ type: "heartbeat", token })],
      details: own.map((file) => frame({ type: "details", token, name: file.name, key })),
      list: [frame({
        type: "list",
        token,
        search: `dir${String(index % 50).padStart(2, "0")}/`,
        limit: 50,
      })],
    });
  }))).filter((p): p is RawPeer => p !== null);
  summary.setupMs = Math.round(performance.now() - setupStarted);

  // Wait for the go-ahead, so every worker's timed phase starts together.
  console.log("ready");
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  reader.releaseLock();

  const record = (op: LoadOp, ms: number, error?: string) => {
    if (error !== undefined) {
      fail(op, error);
      return;
    }
    summary.requests[op] = (summary.requests[op] ?? 0) + 1;
    const n = seen[op] = (seen[op] ?? 0) + 1;
    const samples = summary.latencies[op] ??= [];
    const rounded = Math.round(ms * 100) / 100;
    if (samples.length < MAX_SAMPLES) samples.push(rounded);
    else {
      const slot = Math.floor(Math.random() * n);
      if (slot < MAX_SAMPLES) samples[slot] = rounded;
    }
  };
  for (const peer of peers) peer.listen(record);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  if (peers.length > 0 && rate > 0) {
    // Every tick writes the requests that fell due since the last; each keeps its due time.
    let sent = 0;
    const total = Math.floor(seconds * rate);
    while (sent < total) {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - started) * rate) / 1000));
      for (; sent < due; sent++) {
        const peer = peers[sent % peers.length]!;
        const op = sequence[sent % sequence.length]!;
        peer.send(op, started + (sent * 1000) / rate);
      }
      await new Promise((done) => setTimeout(done, 1));
    }
    summary.offered = sent;
  }
  // Answers still owed get up to 10 s; what stays unanswered counts as failed.
  const drainUntil = Math.max(deadline, performance.now()) + 10_000;
  while (peers.some((p) => p.waiting > 0) && performance.now() < drainUntil) {
    await new Promise((done) => setTimeout(done, 20));
  }
  summary.elapsedMs = Math.round(performance.now() - started);
  for (const peer of peers) {
    for (let i = peer.waiting; i > 0; i--) fail("heartbeat", "no reply before the end");
    peer.close();
  }
  console.log(JSON.stringify(summary));
}

/** Reads one whole frame from `conn` (for the `hello` reply). */
async function readFrame(conn: Deno.TcpConn): Promise<Uint8Array> {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  await readFull(conn, header);
  const body = new Uint8Array(decodeFrameLength(header));
  await readFull(conn, body);
  return body;
}

async function readFull(conn: Deno.TcpConn, into: Uint8Array): Promise<void> {
  for (let at = 0; at < into.length;) {
    const n = await conn.read(into.subarray(at));
    if (n === null) throw new Error("Cannot read reply: the tracker closed the connection");
    at += n;
  }
}

/** `"type":"error"` as bytes, to tell an error reply without parsing it. */
const ERROR_MARK = new TextEncoder().encode('{"type":"error"');

/** One simulated peer's connection in the timed phase: pre-encoded frames, a FIFO of due times. */
class RawPeer {
  readonly #conn: Deno.TcpConn;
  readonly #frames: Record<string, Uint8Array[]>;
  readonly #owed: { op: LoadOp; due: number }[] = [];
  #turn = 0;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(conn: Deno.TcpConn, frames: Record<string, Uint8Array[]>) {
    this.#conn = conn;
    this.#frames = frames;
  }

  /** Requests written and not answered yet. */
  get waiting(): number {
    return this.#owed.length;
  }

  /** Writes the next frame of kind `op`, due at `due` (ms, performance clock). */
  send(op: LoadOp, due: number): void {
    const frames = this.#frames[op]!;
    const bytes = frames[this.#turn++ % frames.length]!;
    this.#owed.push({ op, due });
    this.#writing = this.#writing.then(() => writeAll(this.#conn, bytes)).catch(() => {});
  }

  /** Reads replies until the connection ends, reporting each with its latency from due. */
  listen(record: (op: LoadOp, ms: number, error?: string) => void): void {
    (async () => {
      let buffer = new Uint8Array(64 * 1024);
      let filled = 0;
      while (true) {
        if (filled === buffer.length) {
          const bigger = new Uint8Array(buffer.length * 2);
          bigger.set(buffer);
          buffer = bigger;
        }
        const n = await this.#conn.read(buffer.subarray(filled));
        if (n === null) return;
        filled += n;
        let at = 0;
        while (filled - at >= FRAME_HEADER_BYTES) {
          const length = decodeFrameLength(buffer.subarray(at, at + FRAME_HEADER_BYTES));
          if (filled - at < FRAME_HEADER_BYTES + length) break;
          const body = buffer.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
          const owed = this.#owed.shift();
          if (owed) {
            const isError = ERROR_MARK.every((b, i) => body[i] === b);
            record(
              owed.op,
              performance.now() - owed.due,
              isError ? new TextDecoder().decode(body.subarray(0, 200)) : undefined,
            );
          }
          at += FRAME_HEADER_BYTES + length;
        }
        buffer.copyWithin(0, at, filled);
        filled -= at;
      }
    })().catch(() => {});
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

if (import.meta.main) await main();
