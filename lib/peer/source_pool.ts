/**
 * The sources of one download and the rules that keep it moving. Up to `maxSources` holders are
 * fetched from at once (each through `fetchChunks`); the others wait as spares. The rules, in the
 * order they are applied on every tick (`POOL_TICK_MS`) and whenever a source ends:
 *
 * - **A complete holder is always among the sources** while one is known: when none runs, the next
 *   free slot goes to a complete spare, and partial holders (other downloads) never take the last
 *   slot while a complete holder is known. So however many partial holders park or lie, the chunks
 *   only a seed has are always being fetched.
 * - **Rotation.** A source that was asked for nothing (parked: it has nothing this download
 *   needs, or says `BUSY`) and delivered no chunk for `SOURCE_ROTATE_MS` while a spare waits gives
 *   its slot to that spare and waits its turn again (a slot is for delivering, not for answering:
 *   a holder that answers every `have` with nothing is rotated out like a silent one). One with
 *   reads pending is sending, only slowly (a downloader with 1 MB/s shared by four sources gets a
 *   1 MiB chunk from each every 4 s): it is rotated out after `SOURCE_SLOW_MS` without a chunk.
 *   The last complete source is kept unless a complete spare takes its place.
 * - **Retry, do not forget.** A source that dropped (closed, refused, stalled) is tried again after
 *   `SOURCE_RETRY_MS`, doubling to `SOURCE_RETRY_MAX_MS`; the tracker is asked for the holders
 *   every `discoverMs`, and a holder found at a new address (a restart) is tried there at once.
 * - **Liars pay.** A source that sent a corrupt chunk or refused one it advertised is blamed at
 *   once (reported) and never used again in this download; one that changed its file (`STALE`)
 *   likewise. One that stopped serving the version (`GONE`: its download ended) is not blamed and
 *   is tried again only at a new address.
 * - **Stalls are told, and bounded.** When no chunk has arrived for `STALL_NOTICE_MS`, no complete
 *   holder is connected and some remaining chunks are held by no connected source, the download is
 *   stalled: `onStall` says how many chunks nobody has; stalled for `stallTimeoutMs`, it ends with
 *   a `STALLED` error (the verified chunks are kept).
 *
 * The pool takes a {@link Clock}, so the swarm simulator (`tests/sim/`) runs these very rules on a
 * virtual clock.
 *
 * @module
 */
import {
  type FailureReason,
  type HolderInfo,
  ProtocolError,
  RemoteError,
} from "../protocol/mod.ts";
import { type Backoff, backoffMs } from "../common/mod.ts";
import type { ChunkScheduler } from "./chunk_scheduler.ts";
import type { Clock } from "./clock.ts";
import { PeerError } from "./errors.ts";
import { PartFileError } from "./part_file.ts";
import {
  candidateOf,
  freshStats,
  liveScore,
  observeChunk,
  type RankedCandidate,
  type SourceStats,
} from "./ranking.ts";
import {
  ChunkCorrupt,
  type ChunkPicker,
  ChunkRefused,
  SourceGone,
  type VerifiedChunk,
} from "./source_fetcher.ts";

/** A source asked for nothing (parked, or told `BUSY`) this long while a spare waits gives up its slot. */
export const SOURCE_ROTATE_MS = 4_000;

/**
 * A source that delivers no chunk this long while a spare waits gives up its slot even with reads
 * pending (slow: a chunk at a quarter of 1 MB/s takes 4 s; its stall watchdog needs no bytes at
 * all).
 */
export const SOURCE_SLOW_MS = 20_000;

/** A source that dropped is tried again after this long (doubling with each drop)... */
export const SOURCE_RETRY_MS = 2_000;

/** ... up to this long. */
export const SOURCE_RETRY_MAX_MS = 30_000;

/**
 * The retry rule: {@link SOURCE_RETRY_MS} after the first drop, doubling up to
 * {@link SOURCE_RETRY_MAX_MS}, without jitter (the wait depends on the drops alone, so the swarm
 * simulator replays it exactly).
 */
const SOURCE_RETRY: Backoff = { firstMs: SOURCE_RETRY_MS, maxMs: SOURCE_RETRY_MAX_MS };
const NO_JITTER = () => 1;

/** No chunk for this long, and nobody connected has the rest: the download is stalled. */
export const STALL_NOTICE_MS = 3_000;

/** A download stalled this long gives up (`get --stall-timeout`). */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

/** How often the pool applies its rules. */
export const POOL_TICK_MS = 250;

/** An idle source races a chunk in flight elsewhere (endgame) only once it is this overdue. */
export const ENDGAME_GRACE_MS = 250;

/** What one source delivered. */
export interface SourceResult {
  /** Its user. */
  user: string;
  /** Verified bytes it delivered (copies that lost an endgame race not counted). */
  bytes: number;
  /** Its final live score. */
  score: number;
  /** Why it was last dropped, if it did not deliver since. */
  failure?: FailureReason;
  /** Whether it was blamed (and reported) during the download: a lie or a changed file. */
  blamed?: boolean;
}

/** Options of a {@link SourcePool}. */
export interface SourcePoolOptions {
  /** Time. */
  clock: Clock;
  /** The download's chunk bookkeeping. */
  scheduler: ChunkScheduler;
  /** Fetches verified chunks from one source until it has nothing more or `signal` aborts. */
  fetch(source: RankedCandidate, picker: ChunkPicker, signal: AbortSignal): AsyncIterable<
    VerifiedChunk
  >;
  /**
   * Takes a verified chunk from `source` (writes it and marks it done); false when another copy
   * won already. An error thrown here ends the download.
   */
  accept(source: string, chunk: VerifiedChunk): boolean;
  /** Most sources at once. Default 4. */
  maxSources?: number;
  /** This peer's user, never used as a source. */
  self?: string;
  /** Asks the tracker for the version's holders again. */
  discover?: () => Promise<HolderInfo[]>;
  /** How often to call `discover`. Default 1 s. */
  discoverMs?: number;
  /** Gives up after this long stalled; 0 waits for ever. Default {@link DEFAULT_STALL_TIMEOUT_MS}. */
  stallTimeoutMs?: number;
  /** File name, for messages. */
  name: string;
  /** One-line notes: sources found, dropped, rotated, retried. */
  onEvent?: (line: string) => void;
  /** Called when the download stalls (with the chunks no connected source has) and resumes (null). */
  onStall?: (missing: number | null) => void;
  /** A source blamed during the download (a lie or a changed file), to report at once. */
  onBlame?: (source: string, reason: FailureReason, bytes: number) => Promise<void>;
  /** Stops the download. */
  signal?: AbortSignal;
}

interface SourceState {
  candidate: RankedCandidate;
  phase: "spare" | "running" | "blamed" | "gone";
  retryAt: number;
  drops: number;
  stop?: AbortController;
  startedAt: number;
  lastChunkAt: number;
  /** What it holds: undefined until it is connected, null for the whole file. */
  have: Uint8Array | null | undefined;
  stats: SourceStats;
  failure?: FailureReason;
}

/**
 * The sources of one download under the rules above.
 *
 * @example
 * ```ts ignore
 * const pool = new SourcePool({ clock: systemClock, scheduler, fetch, accept, name: "a.bin" });
 * const results = await pool.run(ranked);
 * ```
 */
export class SourcePool {
  readonly #o: SourcePoolOptions;
  readonly #clock: Clock;
  readonly #scheduler: ChunkScheduler;
  readonly #max: number;
  readonly #sources = new Map<string, SourceState>();
  readonly #running = new Set<Promise<void>>();
  readonly #notes: string[] = [];
  #wake = new AbortController();
  #fatal: unknown;
  #lastChunkAt: number;
  #stalledSince: number | undefined;
  #discovering = false;
  #nextDiscovery = 0;

  /** A pool under `options`. */
  constructor(options: SourcePoolOptions) {
    this.#o = options;
    this.#clock = options.clock;
    this.#scheduler = options.scheduler;
    this.#max = Math.max(1, options.maxSources ?? 4);
    this.#lastChunkAt = options.clock.now();
  }

  /** Sources connected now. */
  get active(): number {
    let n = 0;
    for (const s of this.#sources.values()) if (s.phase === "running") n++;
    return n;
  }

  /** The users of the sources connected now. */
  get activeUsers(): string[] {
    const users: string[] = [];
    for (const s of this.#sources.values()) if (s.phase === "running") users.push(s.candidate.user);
    return users;
  }

  /** Whether the download is stalled now. */
  get stalled(): boolean {
    return this.#stalledSince !== undefined;
  }

  /**
   * Runs sources, best first, until every chunk is verified; resolves to what each delivered.
   * Throws a `STALLED` or `NO_SOURCE` {@link PeerError}, or what `accept` threw.
   */
  async run(ranked: RankedCandidate[]): Promise<SourceResult[]> {
    for (const c of ranked) this.#add(c);
    const signal = this.#o.signal;
    const wakeUp = () => this.#wake.abort();
    signal?.addEventListener("abort", wakeUp, { once: true });
    try {
      this.#nextDiscovery = this.#clock.now() + (this.#o.discoverMs ?? 1_000);
      while (!this.#scheduler.finished) {
        signal?.throwIfAborted();
        if (this.#fatal !== undefined) throw this.#fatal;
        const now = this.#clock.now();
        this.#discover(now);
        this.#rotate(now);
        this.#fill(now);
        this.#checkStall(now);
        if (this.#scheduler.finished) break;
        this.#wake = new AbortController();
        await this.#clock.sleep(POOL_TICK_MS, this.#wake.signal);
      }
      signal?.throwIfAborted();
      if (this.#fatal !== undefined) throw this.#fatal;
      return this.#results();
    } finally {
      signal?.removeEventListener("abort", wakeUp);
      for (const s of this.#sources.values()) s.stop?.abort();
      await Promise.allSettled([...this.#running]);
    }
  }

  #add(candidate: RankedCandidate): void {
    this.#sources.set(candidate.user, {
      candidate,
      phase: "spare",
      retryAt: 0,
      drops: 0,
      startedAt: 0,
      lastChunkAt: 0,
      have: undefined,
      stats: freshStats(),
    });
  }

  /** Asks the tracker for holders (at most one call at a time, every `discoverMs`). */
  #discover(now: number): void {
    const discover = this.#o.discover;
    if (!discover || this.#discovering || now < this.#nextDiscovery) return;
    this.#discovering = true;
    this.#nextDiscovery = now + (this.#o.discoverMs ?? 1_000);
    discover().then((holders) => {
      for (const p of holders) this.#found(p);
    }, () => {/* the tracker did not answer: next time */}).finally(() => {
      this.#discovering = false;
      this.#wake.abort();
    });
  }

  #found(p: HolderInfo): void {
    if (!p.online || p.user === this.#o.self) return;
    // Not pinged: it ranks after the holders that were.
    const candidate: RankedCandidate = { ...candidateOf(p, null), score: Number.MAX_SAFE_INTEGER };
    const known = this.#sources.get(p.user);
    if (!known) {
      this.#add(candidate);
      this.#o.onEvent?.(`found source ${p.user}${p.complete === false ? " (partial)" : ""}`);
      return;
    }
    if (known.phase === "blamed") return;
    const moved = known.candidate.host !== p.host || known.candidate.port !== p.port ||
      (known.candidate.tls ?? false) !== (p.tls ?? false);
    if (moved) {
      known.candidate = { ...candidate, score: known.candidate.score };
      if (known.phase !== "running") {
        known.phase = "spare";
        known.retryAt = 0;
        known.drops = 0;
        this.#o.onEvent?.(`found source ${p.user} again at ${p.host}:${p.port}`);
      }
    } else if (known.phase !== "running") {
      // A partial holder that finished is a complete one now.
      if (p.complete !== false && known.candidate.partial) {
        const { partial: _, ...rest } = known.candidate;
        known.candidate = rest;
      }
    }
  }

  /** Whether a complete holder is known that may still be used. */
  #completeKnown(): boolean {
    for (const s of this.#sources.values()) {
      if (!s.candidate.partial && (s.phase === "spare" || s.phase === "running")) return true;
    }
    return false;
  }

  #eligible(now: number): SourceState[] {
    return [...this.#sources.values()].filter((s) => s.phase === "spare" && s.retryAt <= now);
  }

  /** Starts sources in free slots: a complete holder first when none runs. */
  #fill(now: number): void {
    if (this.#o.signal?.aborted || this.#fatal !== undefined) return;
    let running = [...this.#sources.values()].filter((s) => s.phase === "running");
    let eligible = this.#eligible(now);
    while (running.length < this.#max && eligible.length > 0 && !this.#scheduler.finished) {
      const partialRunning = running.filter((s) => s.candidate.partial).length;
      const completeEligible = eligible.find((s) => !s.candidate.partial);
      let next: SourceState | undefined;
      if (partialRunning === running.length && completeEligible) next = completeEligible;
      else if (this.#max > 1 && partialRunning >= this.#max - 1 && this.#completeKnown()) {
        next = completeEligible; // the last slot is kept for a complete holder
      } else next = eligible[0];
      if (!next) return;
      this.#start(next, now);
      running = [...running, next];
      eligible = eligible.filter((s) => s !== next);
    }
  }

  /** Gives the slot of a source that delivers nothing to a spare that waits. */
  #rotate(now: number): void {
    const eligible = this.#eligible(now);
    if (eligible.length === 0) return;
    const running = [...this.#sources.values()].filter((s) => s.phase === "running");
    const completeRunning = running.filter((s) => !s.candidate.partial).length;
    for (const s of running) {
      // Reads pending: it is sending (its watchdog drops it when nothing at all arrives).
      const rotateMs = this.#scheduler.inFlightOn(s.candidate.user) > 0
        ? SOURCE_SLOW_MS
        : SOURCE_ROTATE_MS;
      if (now - Math.max(s.startedAt, s.lastChunkAt) < rotateMs) continue;
      if (
        !s.candidate.partial && completeRunning === 1 && !eligible.some((e) => !e.candidate.partial)
      ) {
        continue; // the last complete source stays until another complete one can take over
      }
      const waiting = s.candidate.partial
        ? eligible[0]!
        : eligible.find((e) => !e.candidate.partial) ?? eligible[0]!;
      this.#o.onEvent?.(
        `rotated out ${s.candidate.user} (no chunk for ${
          rotateMs / 1000
        } s while ${waiting.candidate.user} waits)`,
      );
      s.phase = "spare";
      s.retryAt = now + SOURCE_RETRY_MS;
      s.stop?.abort();
      return; // one a tick: the spare starts in the slot just freed
    }
  }

  #start(s: SourceState, now: number): void {
    s.phase = "running";
    s.startedAt = now;
    s.have = undefined;
    const stop = new AbortController();
    s.stop = stop;
    const signal = this.#o.signal ? AbortSignal.any([this.#o.signal, stop.signal]) : stop.signal;
    const done: Promise<void> = this.#runSource(s, signal).finally(() => {
      this.#running.delete(done);
      if (s.stop === stop && s.phase === "running") s.phase = "spare";
      this.#wake.abort();
    });
    this.#running.add(done);
  }

  async #runSource(s: SourceState, signal: AbortSignal): Promise<void> {
    const scheduler = this.#scheduler;
    const user = s.candidate.user;
    const picker: ChunkPicker = {
      take: (u) => {
        if (s.have === undefined) s.have = null; // asking for work without a have-map: whole file
        return scheduler.take(u, 2, { raceAfterMs: ENDGAME_GRACE_MS, now: this.#clock.now() });
      },
      release: (index, u) => scheduler.release(index, u),
      setHave: (u, have, partial) => {
        s.have = have;
        scheduler.setHave(u, have, partial);
      },
      raceable: (u) => scheduler.raceable(u),
      get finished() {
        return scheduler.finished;
      },
    };
    try {
      for await (const chunk of this.#o.fetch(s.candidate, picker, signal)) {
        const bytes = chunk.bytes.length;
        if (!this.#o.accept(user, chunk)) continue; // lost an endgame race
        const now = this.#clock.now();
        s.stats = observeChunk(s.stats, bytes, chunk.elapsedMs);
        s.lastChunkAt = now;
        s.drops = 0;
        delete s.failure;
        this.#lastChunkAt = now;
        if (this.#stalledSince !== undefined) {
          this.#stalledSince = undefined;
          this.#o.onStall?.(null);
        }
        if (scheduler.finished) this.#wake.abort();
      }
      // It had nothing to do (what is left is in flight elsewhere): not back before the next
      // tick, or the pool would start it again at once, for ever, without time passing.
      if (!scheduler.finished && !signal.aborted) s.retryAt = this.#clock.now() + POOL_TICK_MS;
    } catch (error) {
      if (isFatal(error)) {
        this.#fatal ??= error;
        return;
      }
      if (signal.aborted) return; // rotated, finished, or the whole download was stopped
      await this.#dropped(s, error);
    } finally {
      scheduler.dropSource(user);
      s.have = undefined;
    }
  }

  /** Sorts out why a source ended: blamed, gone, or retried later. */
  async #dropped(s: SourceState, error: unknown): Promise<void> {
    const user = s.candidate.user;
    const reason = failureReasonOf(error);
    const words = error instanceof Error && reason !== "timeout" ? `: ${error.message}` : "";
    if (error instanceof ChunkCorrupt || error instanceof ChunkRefused || reason === "stale") {
      s.phase = "blamed";
      s.failure = reason;
      if (reason === "corrupt") s.stats = { ...s.stats, corrupt: s.stats.corrupt + 1 };
      this.#notes.push(`${user}: ${reason}`);
      this.#o.onEvent?.(`dropped source ${user} (${reason}${words})`);
      await this.#o.onBlame?.(user, reason, s.stats.bytes);
      return;
    }
    if (error instanceof SourceGone) {
      s.phase = "gone";
      this.#o.onEvent?.(`source ${user} left (it no longer serves this version)`);
      return;
    }
    s.phase = "spare";
    s.drops++;
    s.retryAt = this.#clock.now() + backoffMs(SOURCE_RETRY, s.drops - 1, NO_JITTER);
    if (s.candidate.partial && reason === "closed") {
      // Another downloader that finished or stopped: no fault of its own.
      this.#o.onEvent?.(`source ${user} left (a download that ended)`);
      return;
    }
    if (reason === "timeout") s.stats = { ...s.stats, stalls: s.stats.stalls + 1 };
    s.failure = reason;
    this.#notes.push(`${user}: ${reason}`);
    this.#o.onEvent?.(
      `dropped source ${user} (${reason}${words}); trying it again in ${
        Math.round((s.retryAt - this.#clock.now()) / 100) / 10
      } s`,
    );
  }

  /** Notices a stall (and its end), and gives up after `stallTimeoutMs` of it. */
  #checkStall(now: number): void {
    const scheduler = this.#scheduler;
    const running = [...this.#sources.values()].filter((s) => s.phase === "running");
    const usable = [...this.#sources.values()].some((s) =>
      s.phase === "running" || s.phase === "spare"
    );
    if (!usable && !this.#o.discover) {
      throw new PeerError(
        "NO_SOURCE",
        `Cannot download ${this.#o.name}: every source failed (${
          this.#notes.join("; ") || "none answered"
        }); verified chunks are kept for the next run`,
      );
    }
    let missing = 0;
    if (!running.some((s) => s.have === null)) {
      const haves = running.map((s) => s.have).filter((h): h is Uint8Array => h != null);
      for (let i = 0; i < scheduler.total; i++) {
        if (!scheduler.isDone(i) && !haves.some((h) => h[i])) missing++;
      }
    }
    const stalled = missing > 0 && now - this.#lastChunkAt >= STALL_NOTICE_MS;
    if (!stalled) {
      if (this.#stalledSince !== undefined) {
        this.#stalledSince = undefined;
        this.#o.onStall?.(null);
      }
      return;
    }
    if (this.#stalledSince === undefined) {
      this.#stalledSince = now;
      this.#o.onEvent?.(`stalled: no online peer has ${missing} remaining chunks; waiting`);
    }
    this.#o.onStall?.(missing);
    const limit = this.#o.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    if (limit > 0 && now - this.#stalledSince >= limit) {
      throw new PeerError(
        "STALLED",
        `Cannot download ${this.#o.name}: stalled for ${
          Math.round(limit / 100) / 10
        } s: no online peer has ${missing} remaining chunks${
          this.#notes.length > 0 ? ` (${this.#notes.join("; ")})` : ""
        }; verified chunks are kept for the next run`,
      );
    }
  }

  #results(): SourceResult[] {
    return [...this.#sources.values()].map((s) => ({
      user: s.candidate.user,
      bytes: s.stats.bytes,
      score: liveScore(s.candidate.score, s.stats),
      ...(s.failure ? { failure: s.failure } : {}),
      ...(s.phase === "blamed" ? { blamed: true } : {}),
    }));
  }
}

/** Why a source failed, in the tracker's words. */
export function failureReasonOf(error: unknown): FailureReason {
  if (error instanceof ChunkCorrupt) return "corrupt";
  if (error instanceof ChunkRefused) return "not_found";
  if (error instanceof RemoteError) {
    if (error.code === "NOT_FOUND") return "not_found";
    if (error.code === "STALE") return "stale";
    return "refused";
  }
  if (error instanceof ProtocolError) return error.code === "TIMEOUT" ? "timeout" : "closed";
  if (error instanceof Deno.errors.ConnectionRefused) return "refused";
  return "closed";
}

/** Errors that no other source can help with: they end the download. */
function isFatal(error: unknown): boolean {
  return error instanceof PartFileError;
}
