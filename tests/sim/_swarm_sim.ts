/**
 * The deterministic swarm simulator. It runs the real download rules — {@link ChunkScheduler}
 * (rarest first), {@link fetchChunks} (pipelining, `have` polling and parking, `BUSY`, endgame,
 * the per-source watchdog, blame), {@link SourcePool} (slots, rotation, retries, rediscovery,
 * stalls) — and the real serving rules — {@link UploadSlots}, super-seeding
 * ({@link SeedLedger}, {@link SeedView}, {@link seedHave}), have-maps of partial holders,
 * {@link rangeVerified} — in one process, over in-memory connections, on a {@link VirtualClock}.
 *
 * The network is fluid: every transfer is a flow whose rate is its fair share of the sender's
 * upload cap and of the receiver's download cap (`min(up / uploads, down / downloads)`), changed
 * whenever a flow starts or ends; every message also takes {@link LATENCY_MS}. Chunks are small
 * (a few KiB) and the caps are scaled with them, so a chunk takes as long as a 1 MiB chunk at the
 * scenario's MB/s: the timers of the real code (rotation, stall notice, retries) see real times.
 *
 * Time moves only when every promise has settled: the loop drains the microtask queue (one
 * `setImmediate` turn), then jumps to the next timer or flow completion. Nothing reads the real
 * clock or `Math.random`, so a scenario (and its seed) replays exactly.
 *
 * What the simulator models of the tracker is what a download sees of it: `details` (the holders,
 * online or not, complete or partial, with their counts) and reports (a blamed source's failures).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { setImmediate } from "node:timers";
import { ChunkScheduler } from "../../lib/peer/chunk_scheduler.ts";
import { chunkCount, chunkRange } from "../../lib/peer/chunking.ts";
import type { PeerTarget } from "../../lib/peer/connection_pool.ts";
import { PeerError } from "../../lib/peer/errors.ts";
import { type Candidate, rankSources } from "../../lib/peer/ranking.ts";
import {
  fetchChunks,
  type SourceConnector,
  type SourceLink,
} from "../../lib/peer/source_fetcher.ts";
import { SourcePool } from "../../lib/peer/source_pool.ts";
import { seedHave, SeedLedger, SeedView } from "../../lib/peer/have_replies.ts";
import { rangeVerified, type SwarmFile } from "../../lib/peer/swarm_files.ts";
import { UploadSlots } from "../../lib/peer/upload_slots.ts";
import {
  type FileDetails,
  HAVE_WAIT_MS,
  type HolderInfo,
  ProtocolError,
  RemoteError,
} from "../../lib/protocol/mod.ts";
import { Endpoint, Network } from "./_sim_network.ts";
import {
  type DownloaderSpec,
  kumarRoss,
  type LiarKind,
  prng,
  rateOf,
  type Scenario,
} from "./_sim_scenario.ts";
import { VirtualClock } from "./_virtual_clock.ts";

export * from "./_sim_scenario.ts";

const DEBUG = Deno.env.get("SIM_DEBUG") === "1";

/** One-way delay of every message, in virtual ms. */
export const LATENCY_MS = 1;

/** A download stalled this long gives up (the `get` default). */
export const SIM_STALL_TIMEOUT_MS = 60_000;

/** A scenario that has not ended after this much virtual time is a hang. */
export const SIM_TIME_LIMIT_MS = 30 * 60_000;

/** A holder that complete peers serve from: a seed (shares the file) with its schedule. */
export interface DownloadOutcome {
  /** Account. */
  user: string;
  /** Round, from 1. */
  round: number;
  /** Virtual ms from the round's start. */
  startedAt: number;
  /** When it finished, from the round's start. */
  finishedAt?: number;
  /** Whether its bytes are the file's. */
  bytesOk?: boolean;
  /** It gave up stalled: when, how many chunks it lacked, whether nobody online had one of them. */
  stalled?: { at: number; missing: number; true: boolean };
  /** It quit (by the scenario) before it finished. */
  quit?: boolean;
  /** Anything else that ended it. */
  error?: string;
}

/** What a simulation saw. */
export interface Outcome {
  /** Each download of each round. */
  downloads: DownloadOutcome[];
  /** Sources blamed by downloaders (reported to the tracker). */
  blames: { downloader: string; source: string; reason: string; at: number }[];
  /** Lies a downloader consumed: a refused advertised chunk, or wrong bytes read in full. */
  lies: { downloader: string; liar: string; at: number }[];
  /** Per round: the Kumar–Ross lower bound and the last honest finish, virtual ms. */
  rounds: { bound: number; lastFinish: number | null }[];
  /** The last lines of the downloaders' event logs (for a failing scenario). */
  log: string[];
  /** Whether the simulation ran out of virtual time. */
  timedOut: boolean;
  /** Bytes each peer sent (whole chunks delivered). */
  uploaded: Record<string, number>;
}

/** Bytes per virtual ms of a cap of `mbps` MB/s of real chunks, at the scenario's chunk size. */
// ---------------------------------------------------------------------------------------------
// Peers and their servers.

type Behaviour = "seed" | "downloader" | LiarKind;

/** What a peer serves of the one version: its bytes and which chunks it has verified. */
interface Served {
  bytes: Uint8Array;
  have: Uint8Array;
  /** Served as an indexed (shared) file: super-seeding applies. */
  indexed: boolean;
}

class SimPeer {
  readonly endpoint: Endpoint;
  readonly conns = new Set<SimConn>();
  readonly credit = new Map<string, number>();
  readonly waiters = new Set<() => void>();
  port = 0;
  listening = false;
  served: Served | undefined;
  ledger = new SeedLedger();
  slots: UploadSlots;

  constructor(
    readonly sim: Simulation,
    readonly user: string,
    readonly behaviour: Behaviour,
    up: number,
    down: number,
  ) {
    this.endpoint = new Endpoint(up, down);
    this.slots = this.#newSlots();
  }

  get host(): string {
    return `sim-${this.user}`;
  }

  /** Starts a server process on a new port (a fresh ledger and upload slots). */
  listen(): void {
    this.port = this.sim.nextPort++;
    this.listening = true;
    this.ledger = new SeedLedger();
    this.slots = this.#newSlots();
  }

  /** Ends the server process: every connection to it closes. */
  stop(): void {
    this.listening = false;
    for (const conn of [...this.conns]) conn.shut(closedError());
  }

  /** Tells `have` waiters that more chunks are verified. */
  changed(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  #newSlots(): UploadSlots {
    return new UploadSlots({
      now: () => this.sim.clock.now(),
      credit: (user) => this.credit.get(user) ?? 0,
    });
  }
}

type Request = { type: "have"; wait: boolean } | { type: "read"; offset: number; length: number };

type Response =
  | { type: "have"; have: Uint8Array; complete: boolean }
  | { type: "data"; bytes: Uint8Array; lie: boolean }
  | { type: "error"; code: string; message: string; lie: boolean };

/** One connection: the client side is a {@link SourceLink}; the server side runs `#serve`. */
class SimConn implements SourceLink {
  closed = false;
  readonly #sim: Simulation;
  readonly #client: SimPeer;
  readonly #server: SimPeer;
  readonly #requests: Request[] = [];
  readonly #responses: Response[] = [];
  readonly #stop = new AbortController();
  #serverWake: (() => void) | undefined;
  #waiter: { resolve: (r: Response) => void; reject: (e: unknown) => void } | undefined;
  #payload: Uint8Array = new Uint8Array(0);
  #cursor = 0;
  #payloadLie = false;
  #flowCancel: (() => void) | undefined;
  /** Super-seeding's view of this connection; chunks counted by the last `have` (partial). */
  readonly #view: SeedView;
  #told: number | undefined;

  constructor(sim: Simulation, client: SimPeer, server: SimPeer) {
    this.#sim = sim;
    this.#client = client;
    this.#server = server;
    this.#view = new SeedView(sim.chunks);
    server.conns.add(this);
    void this.#serve();
  }

  get user(): string {
    return this.#server.user;
  }

  showTicket(): Promise<void> {
    return Promise.resolve();
  }

  sendHave(_name: string, _id: string, wait?: boolean): Promise<void> {
    this.#send({ type: "have", wait: wait === true });
    return Promise.resolve();
  }

  async expectHave(chunks: number): Promise<{ have: Uint8Array; complete: boolean }> {
    const r = await this.#next();
    if (r.type === "error") throw new RemoteError(r.code, r.message);
    if (r.type !== "have") throw new ProtocolError("BAD_MESSAGE", "expected have");
    return { have: r.have.slice(0, chunks), complete: r.complete };
  }

  sendRead(_name: string, _sha256: string, offset: number, length: number): Promise<void> {
    this.#send({ type: "read", offset, length });
    return Promise.resolve();
  }

  async expectData(): Promise<void> {
    const r = await this.#next();
    if (r.type === "error") {
      if (r.lie) this.#sim.noteLie(this.#client.user, this.#server.user);
      throw new RemoteError(r.code, r.message);
    }
    if (r.type !== "data") throw new ProtocolError("BAD_MESSAGE", "expected data");
    this.#payload = r.bytes;
    this.#cursor = 0;
    this.#payloadLie = r.lie;
  }

  readExact(target: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    target.set(this.#payload.subarray(this.#cursor, this.#cursor + target.length));
    this.#cursor += target.length;
    if (this.#payloadLie && this.#cursor >= this.#payload.length) {
      this.#sim.noteLie(this.#client.user, this.#server.user);
    }
    return Promise.resolve();
  }

  close(): void {
    this.shut(closedError());
  }

  /** Closes both sides; a pending read on the client side fails with `error`. */
  shut(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.#stop.abort();
    this.#flowCancel?.();
    this.#server.conns.delete(this);
    this.#server.slots.leave(this.#client.user);
    this.#serverWake?.();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  #send(request: Request): void {
    if (this.closed) throw closedError();
    this.#sim.later(LATENCY_MS, () => {
      if (this.closed) return;
      this.#requests.push(request);
      const wake = this.#serverWake;
      this.#serverWake = undefined;
      wake?.();
    });
  }

  #deliver(response: Response): void {
    if (DEBUG) {
      console.log(
        this.#sim.clock.now(),
        `${this.#server.user}->${this.#client.user}`,
        response.type,
        response.type === "error"
          ? response.code
          : response.type === "have"
          ? `${count(response.have)} ${response.complete}`
          : response.bytes.length,
      );
    }
    this.#sim.later(LATENCY_MS, () => {
      if (this.closed) return;
      const waiter = this.#waiter;
      if (waiter) {
        this.#waiter = undefined;
        waiter.resolve(response);
      } else this.#responses.push(response);
    });
  }

  #next(): Promise<Response> {
    if (this.closed) return Promise.reject(closedError());
    const ready = this.#responses.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => this.#waiter = { resolve, reject });
  }

  /** The server's request loop: one request at a time, in order, like a real connection. */
  async #serve(): Promise<void> {
    while (!this.closed) {
      const request = this.#requests.shift();
      if (!request) {
        await new Promise<void>((wake) => this.#serverWake = wake);
        continue;
      }
      if (request.type === "have") await this.#have(request.wait);
      else await this.#read(request.offset, request.length);
    }
  }

  async #have(wait: boolean): Promise<void> {
    const server = this.#server;
    const sim = this.#sim;
    const chunks = sim.chunks;
    const kind = server.behaviour;
    if (kind === "park") {
      if (wait) await sim.clock.sleep(HAVE_WAIT_MS - 10, this.#stop.signal);
      this.#deliver({ type: "have", have: new Uint8Array(chunks), complete: false });
      return;
    }
    if (kind === "claim" || kind === "corrupt") {
      this.#deliver({ type: "have", have: new Uint8Array(chunks).fill(1), complete: false });
      return;
    }
    if (wait && server.served && !server.served.indexed && this.#told !== undefined) {
      const deadline = sim.clock.now() + HAVE_WAIT_MS;
      while (
        !this.closed && server.served && count(server.served.have) === this.#told &&
        sim.clock.now() < deadline
      ) {
        await new Promise<void>((wake) => {
          const timer = sim.clock.at(deadline, wake);
          server.waiters.add(() => {
            timer.cancelled = true;
            wake();
          });
        });
      }
    }
    const served = server.served;
    if (!served) {
      this.#deliver({ type: "error", code: "GONE", message: "not shared here", lie: false });
      return;
    }
    if (served.indexed) {
      const { have, complete } = seedHave(server.ledger, "v", this.#view);
      this.#deliver({ type: "have", have, complete });
      return;
    }
    this.#told = count(served.have);
    this.#deliver({
      type: "have",
      have: served.have.slice(),
      complete: served.have.every((b) => b === 1),
    });
  }

  async #read(offset: number, length: number): Promise<void> {
    const server = this.#server;
    const sim = this.#sim;
    const kind = server.behaviour;
    if (kind === "park" || kind === "claim") {
      this.#deliver({
        type: "error",
        code: "NOT_FOUND",
        message: "not here",
        lie: kind === "claim",
      });
      return;
    }
    const served = kind === "corrupt" ? { bytes: sim.original, have: sim.all } : server.served;
    if (!served) {
      this.#deliver({ type: "error", code: "GONE", message: "not shared here", lie: false });
      return;
    }
    if (!server.slots.admit(this.#client.user)) {
      this.#deliver({ type: "error", code: "BUSY", message: "every slot taken", lie: false });
      return;
    }
    if (!rangeVerified(sim.swarmFile(served.have), offset, length)) {
      this.#deliver({ type: "error", code: "NOT_FOUND", message: "not verified", lie: false });
      return;
    }
    if (length > 0) {
      const first = Math.floor(offset / sim.chunkSize);
      const last = Math.floor((offset + length - 1) / sim.chunkSize);
      for (let i = first; i <= last; i++) {
        if (this.#view.sent(i)) server.ledger.sent("v", sim.chunks, i);
      }
    }
    const flow = sim.network.transfer(
      sim.clock.now(),
      server.endpoint,
      this.#client.endpoint,
      length,
    );
    this.#flowCancel = flow.cancel;
    const stopped = new Promise<void>((resolve) => {
      if (this.#stop.signal.aborted) resolve();
      this.#stop.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([flow.arrived, stopped]);
    server.slots.done(this.#client.user);
    this.#flowCancel = undefined;
    if (this.closed) return;
    const uploaded = sim.outcome.uploaded;
    uploaded[server.user] = (uploaded[server.user] ?? 0) + length;
    const bytes = served.bytes.slice(offset, offset + length);
    if (kind === "corrupt" && bytes.length > 0) bytes[0] = bytes[0]! ^ 0xff;
    this.#deliver({ type: "data", bytes, lie: kind === "corrupt" && bytes.length > 0 });
  }
}

function count(have: Uint8Array): number {
  let n = 0;
  for (const b of have) n += b;
  return n;
}

// ---------------------------------------------------------------------------------------------
// The simulation.

/** Runs one scenario; see {@link simulate}. */
class Simulation {
  readonly clock = new VirtualClock();
  readonly network = new Network();
  readonly original: Uint8Array;
  readonly details: FileDetails;
  readonly chunks: number;
  readonly chunkSize: number;
  readonly all: Uint8Array;
  readonly file: { size: number; chunkSize: number };
  readonly peers = new Map<string, SimPeer>();
  /** The tracker's view: who holds the version, online or not, with their counts. */
  readonly holders = new Map<string, HolderInfo>();
  readonly outcome: Outcome = {
    downloads: [],
    blames: [],
    lies: [],
    rounds: [],
    log: [],
    timedOut: false,
    uploaded: {},
  };
  nextPort = 10_000;

  constructor(readonly scenario: Scenario) {
    const { size, chunkSize } = scenario;
    this.chunkSize = chunkSize;
    this.chunks = chunkCount(size, chunkSize);
    this.file = { size, chunkSize };
    const random = prng(scenario.seed ^ 0x5eed);
    this.original = new Uint8Array(size);
    for (let i = 0; i < size; i++) this.original[i] = Math.floor(random() * 256);
    this.all = new Uint8Array(this.chunks).fill(1);
    const chunkHashes = Array.from(
      { length: this.chunks },
      (_, i) => {
        const r = chunkRange(i, this.file);
        return sha256(this.original.subarray(r.offset, r.offset + r.length));
      },
    );
    this.details = {
      type: "details",
      name: "sim.bin",
      id: "0".repeat(64),
      size,
      sha256: sha256(this.original),
      chunkSize,
      chunkHashes,
      peers: [],
      versions: [],
    } as FileDetails;
  }

  /** The version as the peer server's range rule sees it, with `have` verified. */
  swarmFile(have: Uint8Array): SwarmFile {
    const { name, id, sha256, size, chunkSize } = this.details;
    return { name, id, sha256, size, chunkSize, have, readAt: () => null };
  }

  /** Runs `fn` after `ms` of virtual time. */
  later(ms: number, fn: () => void): void {
    this.clock.at(this.clock.now() + ms, fn);
  }

  noteLie(downloader: string, liar: string): void {
    this.outcome.lies.push({ downloader, liar, at: this.clock.now() });
  }

  log(user: string, line: string): void {
    const log = this.outcome.log;
    if (DEBUG) console.log(`${(this.clock.now() / 1000).toFixed(3)} ${user}: ${line}`);
    log.push(`${(this.clock.now() / 1000).toFixed(3)} ${user}: ${line}`);
    if (log.length > 400) log.splice(0, log.length - 300);
  }

  /** Lists `peer` at the tracker (online, at its address). */
  announce(peer: SimPeer, info: { complete: boolean; downloads?: number }): void {
    const old = this.holders.get(peer.user);
    this.holders.set(peer.user, {
      user: peer.user,
      host: peer.host,
      port: peer.port,
      online: true,
      lastSeen: 0,
      downloads: info.downloads ?? old?.downloads ?? 0,
      failures: old?.failures ?? 0,
      complete: info.complete,
      progress: info.complete ? 1 : 0,
    });
  }

  /** The tracker no longer lists `peer` as an online holder (withdrawn, or offline). */
  withdraw(peer: SimPeer, offline = false): void {
    const entry = this.holders.get(peer.user);
    if (!entry) return;
    if (offline) this.holders.set(peer.user, { ...entry, online: false });
    else this.holders.delete(peer.user);
  }

  /** A connector for one downloading process: links are kept and reused while clean. */
  connector(client: SimPeer): SourceConnector & { closeAll(): void } {
    const idle = new Map<string, SimConn>();
    const all = new Set<SimConn>();
    const key = (t: PeerTarget) => `${t.host}:${t.port}`;
    return {
      acquire: async (target) => {
        const kept = idle.get(key(target));
        if (kept && !kept.closed) {
          idle.delete(key(target));
          return kept;
        }
        await this.clock.sleep(2 * LATENCY_MS);
        const server = [...this.peers.values()].find((p) =>
          p.listening && p.host === target.host && p.port === target.port
        );
        if (!server) throw new Deno.errors.ConnectionRefused("Connection refused (os error 111)");
        const conn = new SimConn(this, client, server);
        all.add(conn);
        return conn;
      },
      release: (link, target, clean) => {
        const conn = link as SimConn;
        if (!clean || conn.closed || idle.has(key(target))) conn.close();
        else idle.set(key(target), conn);
      },
      closeAll: () => {
        for (const conn of all) conn.close();
      },
    };
  }

  /** Every honest holder online now that has chunk `index` verified. */
  holdsOnline(index: number, except: string): boolean {
    for (const peer of this.peers.values()) {
      if (peer.user === except || !peer.listening || !peer.served) continue;
      if (peer.behaviour !== "seed" && peer.behaviour !== "downloader") continue;
      if (peer.served.have[index]) return true;
    }
    return false;
  }

  async download(peer: SimPeer, spec: DownloaderSpec, round: number, roundStart: number) {
    const clock = this.clock;
    const details = this.details;
    const record: DownloadOutcome = {
      user: peer.user,
      round,
      startedAt: clock.now() - roundStart,
    };
    this.outcome.downloads.push(record);
    const random = prng(this.scenario.seed * 31 + round * 1_000_003 + hashOf(peer.user));
    const scheduler = new ChunkScheduler(this.chunks, [], { order: "rarest", random });
    const bytes = new Uint8Array(details.size);
    peer.listen();
    peer.served = { bytes, have: scheduler.doneMap, indexed: false };
    this.announce(peer, { complete: false });
    const stop = new AbortController();
    if (spec.quitAt !== undefined) {
      clock.at(roundStart + spec.quitAt, () => {
        if (record.finishedAt !== undefined && !spec.stays) return;
        if (record.finishedAt === undefined) record.quit = true;
        stop.abort();
        peer.served = undefined;
        peer.stop();
        this.withdraw(peer);
      });
    }
    const connector = this.connector(peer);
    const candidates: Candidate[] = [...this.holders.values()]
      .filter((h) => h.online && h.user !== peer.user)
      .map((h) => ({
        user: h.user,
        host: h.host,
        port: h.port,
        rttMs: this.reachable(h) ? 2 * LATENCY_MS : null,
        downloads: h.downloads,
        failures: h.failures,
        ...(h.complete === false ? { partial: true } : {}),
      }));
    const pool = new SourcePool({
      clock,
      scheduler,
      name: details.name,
      maxSources: Number(Deno.env.get("SIM_MAX_SOURCES") ?? 4),
      self: peer.user,
      stallTimeoutMs: SIM_STALL_TIMEOUT_MS,
      signal: stop.signal,
      discover: async () => {
        await clock.sleep(2 * LATENCY_MS);
        return [...this.holders.values()].map((h) => ({ ...h }));
      },
      onEvent: (line) => this.log(peer.user, line),
      onBlame: (source, reason) => {
        this.outcome.blames.push({ downloader: peer.user, source, reason, at: clock.now() });
        const entry = this.holders.get(source);
        if (entry) this.holders.set(source, { ...entry, failures: entry.failures + 1 });
        return Promise.resolve();
      },
      fetch: (source, picker, signal) =>
        fetchChunks(source, picker, {
          details,
          pool: connector,
          clock,
          ticket: () => Promise.resolve(undefined),
          pipelineDepth: 4,
          stallMs: 8_000,
          signal,
        }),
      accept: (source, chunk) => {
        if (scheduler.isDone(chunk.index)) {
          scheduler.release(chunk.index, source);
          return false;
        }
        const range = chunkRange(chunk.index, details);
        bytes.set(chunk.bytes, range.offset);
        scheduler.complete(chunk.index, source);
        peer.credit.set(source, (peer.credit.get(source) ?? 0) + range.length);
        peer.changed();
        return true;
      },
    });
    try {
      const results = await pool.run(rankSources(candidates));
      record.finishedAt = clock.now() - roundStart;
      record.bytesOk = sha256(bytes) === details.sha256;
      for (const r of results) {
        const entry = this.holders.get(r.user);
        if (r.bytes > 0 && entry) {
          this.holders.set(r.user, { ...entry, downloads: entry.downloads + 1 });
        }
      }
      this.log(peer.user, `finished (${record.bytesOk ? "right bytes" : "WRONG BYTES"})`);
      if (spec.stays && peer.listening) {
        peer.served = { bytes, have: this.all, indexed: false };
        this.announce(peer, { complete: true });
      } else {
        // A `get` that does not stay withdraws and ends: its connections close.
        peer.served = undefined;
        peer.stop();
        this.withdraw(peer);
      }
    } catch (error) {
      if (stop.signal.aborted) {
        record.quit = true;
      } else if (error instanceof PeerError && error.code === "STALLED") {
        const missing: number[] = [];
        for (let i = 0; i < this.chunks; i++) if (!scheduler.isDone(i)) missing.push(i);
        record.stalled = {
          at: clock.now() - roundStart,
          missing: missing.length,
          true: missing.some((i) => !this.holdsOnline(i, peer.user)),
        };
        this.log(peer.user, `gave up: ${error.message}`);
      } else {
        record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        this.log(peer.user, `failed: ${record.error}`);
      }
      peer.served = undefined;
      this.withdraw(peer);
    } finally {
      connector.closeAll();
    }
  }

  reachable(h: HolderInfo): boolean {
    return [...this.peers.values()].some((p) =>
      p.listening && p.host === h.host && p.port === h.port
    );
  }

  /** The scenario's story: seeds and liars on their schedules, downloaders round after round. */
  async run(): Promise<void> {
    const s = this.scenario;
    const rate = (mbps: number) => rateOf(mbps, s.chunkSize);
    for (const spec of s.seeds) {
      const peer = new SimPeer(this, spec.user, "seed", rate(spec.upMBps), Infinity);
      this.peers.set(spec.user, peer);
      const up = () => {
        peer.listen();
        peer.served = { bytes: this.original, have: this.all, indexed: true };
        this.announce(peer, { complete: true });
      };
      this.clock.at(spec.joinAt, up);
      if (spec.leaveAt !== undefined) {
        this.clock.at(spec.leaveAt, () => {
          peer.stop();
          this.withdraw(peer, true);
        });
        if (spec.returnAt !== undefined) this.clock.at(spec.returnAt, up);
      }
    }
    for (const spec of s.liars) {
      const peer = new SimPeer(this, spec.user, spec.kind, rate(100), rate(100));
      this.peers.set(spec.user, peer);
      peer.listen();
      this.announce(peer, { complete: false, downloads: spec.downloads });
    }
    const downloaders = s.downloaders.map((spec) => {
      const peer = new SimPeer(
        this,
        spec.user,
        "downloader",
        rate(spec.upMBps),
        rate(spec.downMBps),
      );
      this.peers.set(spec.user, peer);
      return { spec, peer };
    });
    const seedUp = s.seeds.reduce((sum, x) => sum + rate(x.upMBps), 0);
    const bound = kumarRoss(
      s.size,
      seedUp,
      downloaders.map((d) => d.peer.endpoint.up),
      downloaders.map((d) => d.peer.endpoint.down),
    );
    for (let round = 1; round <= s.rounds; round++) {
      const roundStart = this.clock.now();
      await Promise.all(downloaders.map(async ({ spec, peer }) => {
        await this.clock.sleep(spec.startAt);
        await this.download(peer, spec, round, roundStart);
      }));
      const ends = this.outcome.downloads
        .filter((d) => d.round === round && d.finishedAt !== undefined)
        .map((d) => d.finishedAt!);
      this.outcome.rounds.push({
        bound,
        lastFinish: ends.length > 0 ? Math.max(...ends) : null,
      });
      for (const { peer } of downloaders) {
        peer.served = undefined;
        peer.stop();
        this.withdraw(peer);
      }
      await this.clock.sleep(1_000);
    }
    for (const peer of this.peers.values()) peer.stop();
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function hashOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** One turn of the event loop: every pending promise reaction runs first. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `scenario` to its end on virtual time and returns what happened. Deterministic: the same
 * scenario gives the same outcome.
 */
export async function simulate(scenario: Scenario): Promise<Outcome> {
  const sim = new Simulation(scenario);
  let ended = false;
  let failure: unknown;
  sim.run().catch((error) => failure = error).finally(() => ended = true);
  let spins = 0;
  while (!ended) {
    await drain();
    if (ended) break;
    const next = Math.min(sim.clock.nextAt(), sim.network.nextAt());
    if (next === Infinity) throw new Error("simulation deadlocked: nothing left to wait for");
    spins = next === sim.clock.now() ? spins + 1 : 0;
    if (spins > 100_000) {
      throw new Error(`simulation spins at ${next} ms:\n${sim.outcome.log.slice(-20).join("\n")}`);
    }
    if (next > SIM_TIME_LIMIT_MS) {
      sim.outcome.timedOut = true;
      break;
    }
    sim.clock.advanceTo(next);
    sim.network.advance(next);
    sim.clock.fireDue();
  }
  if (failure !== undefined) throw failure;
  return sim.outcome;
}

/** Everything the outcome of `scenario` breaks of the swarm's promises (empty: none). */
export function violations(scenario: Scenario, outcome: Outcome): string[] {
  const problems: string[] = [];
  if (outcome.timedOut) problems.push(`still running after ${SIM_TIME_LIMIT_MS / 60_000} min`);
  const honest = new Set([...scenario.seeds, ...scenario.downloaders].map((p) => p.user));
  for (const d of outcome.downloads) {
    const who = `${d.user} (round ${d.round})`;
    if (d.quit) continue;
    if (d.error) problems.push(`${who} failed: ${d.error}`);
    else if (d.stalled && !d.stalled.true) {
      problems.push(
        `${who} gave up stalled at ${d.stalled.at} ms while online peers had its ${d.stalled.missing} missing chunks`,
      );
    } else if (d.finishedAt !== undefined && !d.bytesOk) problems.push(`${who} saved wrong bytes`);
    else if (d.finishedAt === undefined && !d.stalled && !outcome.timedOut) {
      problems.push(`${who} never ended`);
    }
  }
  for (const b of outcome.blames) {
    if (honest.has(b.source)) {
      problems.push(`${b.downloader} blamed honest ${b.source} (${b.reason}) at ${b.at} ms`);
    }
  }
  for (const lie of outcome.lies) {
    if (!outcome.blames.some((b) => b.downloader === lie.downloader && b.source === lie.liar)) {
      problems.push(
        `${lie.downloader} took a lie from ${lie.liar} at ${lie.at} ms and never blamed it`,
      );
    }
  }
  return problems;
}

/**
 * A scenario drawn from `seed`: sizes on and around chunk boundaries, 1–40 downloaders, caps from
 * 1 to 100 MB/s, late seeds, seeds that leave (and come back on a new port, or not), quitters,
 * parking and lying partial holders, second and third rounds.
 */
function closedError(): ProtocolError {
  return new ProtocolError("TRUNCATED", "Cannot read: connection closed by the other side");
}
