/**
 * The transfer of one file: ping the online holders at once, rank them, and fetch from up to
 * `maxSources` of them in parallel, each through a source fetcher (`source_fetcher.ts`: pipelined,
 * stall-guarded, yields verified chunks) that asks the {@link ChunkScheduler} for more as its
 * answers arrive, so a faster source gets more chunks; at the end idle sources race chunks that
 * are overdue elsewhere (endgame). Holders found later (other downloaders serving what they have,
 * through `discover`) join while sources are free. A source that closes, stalls or sends a bad
 * chunk is dropped, its chunks go back to the others, and a spare holder takes its place. Each
 * source connection first shows the read ticket that came with `details` (renewed through
 * `renewTicket` when it is about to expire), since peers serve `read` only under a ticket. With
 * `swarm`, the `.part` is served meanwhile from its verified chunks. The fetch-a-file use case
 * (details, download, reports) is `fetch_file.ts`.
 * Verified chunks are recorded in `NAME.part.json`, so an interrupted download resumes. The whole
 * file's SHA-256 is checked (on a worker, following the verified prefix) before `NAME.part`
 * becomes `NAME`.
 *
 * Nothing is written through a link: the folders of the name, `NAME.part`, its state and lock and
 * the final `NAME` must not be symbolic links (see `download_folder.ts`), and `NAME.part.lock`
 * keeps a second download of the same file into the same folder out (see `download_lock.ts`).
 *
 * File-system calls on this path are synchronous where they take microseconds (open, seek, write
 * into the page cache, rename): the async versions wait for Deno's blocking-task pool, measured
 * here at milliseconds per call. Only `fsync` stays asynchronous.
 *
 * @module
 */
import {
  decodeTicket,
  type FailureReason,
  type FileDetails,
  type HolderInfo,
} from "../protocol/mod.ts";
import { chunkRange } from "./chunking.ts";
import { ChunkScheduler } from "./chunk_scheduler.ts";
import { ConnectionPool } from "./connection_pool.ts";
import { checkDetails } from "./details_check.ts";
import { isStillAt, openNoFollow, prepareFolders, refuseNonFile } from "./download_folder.ts";
import { DownloadLock, lockPath } from "./download_lock.ts";
import type { DownloaderKey } from "./downloader_key.ts";
import { PeerError } from "./errors.ts";
import { pingPeer } from "./peer_client.ts";
import { claimPart } from "./part_claim.ts";
import { removePart, resumableChunks, statePath, StateSaver } from "./part_state.ts";
import { type Candidate, type RankedCandidate, rankSources } from "./ranking.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import type { SwarmFile, SwarmFiles } from "./swarm_files.ts";
import { systemClock } from "./clock.ts";
import { fetchChunks } from "./source_fetcher.ts";
import { SourcePool, type SourceResult } from "./source_pool.ts";
import { WholeHasher } from "./whole_hasher.ts";

/** How a transfer from one source went, for the tracker. */
export interface SourceReport {
  /** The source's user. */
  source: string;
  /** Whether it delivered verified bytes without failing. */
  ok: boolean;
  /** Verified bytes it delivered. */
  bytes: number;
  /** Why it failed, when it did. */
  reason?: FailureReason;
}

/** A progress snapshot. */
export interface DownloadProgress {
  /** `verify` while re-checking an earlier `.part`, then `fetch`. */
  phase: "verify" | "fetch";
  /** Bytes verified so far. */
  doneBytes: number;
  /** File size. */
  totalBytes: number;
  /** Sources currently connected. */
  activeSources: number;
  /** Set while the download is stalled: how many remaining chunks no connected source has. */
  stalledChunks?: number;
  /** The users of the sources connected now (while fetching). */
  sources?: string[];
}

/** Options for {@link downloadFile}. */
export interface DownloadOptions {
  /** Folder the file is saved under (its relative name is kept). */
  outDir: string;
  /** Replace an existing file. */
  force?: boolean;
  /** This peer's user, never used as a source. */
  self?: string;
  /** Stops the download when aborted (verified chunks are kept for a later resume). */
  signal?: AbortSignal;
  /** Most sources used at once. Default 4. */
  maxSources?: number;
  /** `read` requests kept in flight per source. Default 4. */
  pipelineDepth?: number;
  /** Drops a source that sends nothing for this long while requests are pending. Default 8 s. */
  sourceStallMs?: number;
  /**
   * Gives up when stalled this long: no chunk arrives and no connected source has the chunks still
   * needed (see `source_pool.ts`); 0 waits for ever. Default 60 s.
   */
  stallTimeoutMs?: number;
  /** Ping timeout per candidate. Default 3 s. */
  pingTimeoutMs?: number;
  /** Limits the download rate (shared with other downloads of this process). */
  limiter?: RateLimiter;
  /** Connections and pings reused between files. */
  pool?: ConnectionPool;
  /** The key the ticket in `details` is bound to. Default: this process's downloader key. */
  downloaderKey?: DownloaderKey;
  /**
   * A fresh ticket for the same version (e.g. from `details` again), asked for when the one in
   * hand expires within a minute and a new source connection needs it.
   */
  renewTicket?: () => Promise<string | undefined>;
  /** Called as chunks are verified. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Called with each source's outcome (to report to the tracker). */
  onReport?: (report: SourceReport) => Promise<void>;
  /** Called with the ranking before the transfer starts. */
  onRanked?: (ranked: RankedCandidate[], unreachable: Candidate[]) => void;
  /** Called with one-line notes: sources dropped, replaced, endgame. */
  onEvent?: (line: string) => void;
  /**
   * Serve the verified chunks of this download to other peers meanwhile (a partial holder): the
   * `.part` is registered here until the download ends. Also switches chunk order to rarest first.
   */
  swarm?: SwarmFiles;
  /** Asks the tracker for the version's holders again, to find new (partial) sources. */
  discover?: () => Promise<HolderInfo[]>;
  /** How often to call `discover` while sources are free. Default 1 s. */
  discoverMs?: number;
}

/** What {@link downloadFile} did. */
export interface DownloadResult {
  /** File name as shared. */
  name: string;
  /** Where it was saved. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Verified SHA-256. */
  sha256: string;
  /** Users that delivered bytes, most first. */
  sources: string[];
  /** Per source: bytes, score, failure. */
  perSource: SourceResult[];
  /** Wall time in seconds. */
  seconds: number;
  /** Bytes fetched from sources in this run. */
  fetchedBytes: number;
  /** Bytes kept from an earlier, interrupted run. */
  reusedBytes: number;
}

/**
 * Downloads one file described by the tracker's `details`.
 *
 * @example
 * ```ts ignore
 * const details = await client.details(token, "a.txt");
 * const result = await downloadFile(details, { outDir: "./downloads", self: "ann" });
 * ```
 */
export async function downloadFile(
  details: FileDetails,
  options: DownloadOptions,
): Promise<DownloadResult> {
  checkDetails(details); // before anything is made: the manifest adds up, the name is safe
  const started = performance.now();
  const path = prepareFolders(options.outDir, details.name);
  const partPath = `${path}.part`;
  for (const p of [path, partPath, statePath(partPath), lockPath(partPath)]) {
    refuseNonFile(p, details.name);
  }
  using _lock = DownloadLock.acquire(partPath, details.name);
  if (!options.force && exists(path)) {
    throw new PeerError(
      "EXISTS",
      `Cannot save ${details.name}: ${path} exists (use --force to replace it)`,
    );
  }
  await claimPart(partPath, details); // a NAME.part without our NAME.part.json is not ours
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? new ConnectionPool();
  try {
    const reused = await resumableChunks(
      partPath,
      details,
      (done, total) =>
        options.onProgress?.({
          phase: "verify",
          doneBytes: done,
          totalBytes: total,
          activeSources: 0,
        }),
    );
    const scheduler = new ChunkScheduler(details.chunkHashes.length, reused, {
      order: options.swarm ? "rarest" : "sequential",
    });
    const reusedBytes = bytesOfChunks(details, reused);

    const ranked = scheduler.finished ? [] : await rankHolders(details, pool, options);
    await using transfer = await Transfer.open(
      partPath,
      details,
      scheduler,
      reused.length === 0,
      pool,
      options,
    );
    const perSource = await transfer.run(ranked);
    // Sources that delivered are credited only once the whole file checks out; if it does not,
    // every chunk matched a manifest whose whole-file hash is false: its holders are blamed.
    const delivered = perSource.filter((s) => s.bytes > 0 && !s.failure);
    // Sources dropped and not back since (closed, stalled, refused) are reported once, at the end;
    // the blamed ones were reported when they lied.
    for (const s of perSource.filter((s) => s.failure && !s.blamed)) {
      await options.onReport?.({ source: s.user, ok: false, bytes: s.bytes, reason: s.failure! });
    }
    try {
      await transfer.finish(path);
    } catch (error) {
      if (error instanceof PeerError && error.code === "VERIFY_FAILED") {
        for (const s of delivered) {
          await options.onReport?.({
            source: s.user,
            ok: false,
            bytes: s.bytes,
            reason: "corrupt",
          });
        }
      }
      throw error;
    }
    for (const s of delivered) {
      await options.onReport?.({ source: s.user, ok: true, bytes: s.bytes });
    }
    const fetchedBytes = perSource.reduce((sum, s) => sum + s.bytes, 0);
    return {
      name: details.name,
      path,
      size: details.size,
      sha256: details.sha256,
      sources: perSource.filter((s) => s.bytes > 0).sort((a, b) => b.bytes - a.bytes).map((s) =>
        s.user
      ),
      perSource,
      seconds: (performance.now() - started) / 1000,
      fetchedBytes,
      reusedBytes,
    };
  } catch (error) {
    if (
      isDiskFull(error instanceof DiskError ? error.cause : error) || error instanceof DiskError
    ) {
      const why = isDiskFull(error instanceof DiskError ? error.cause : error)
        ? "the disk is full"
        : error instanceof Error
        ? error.message
        : String(error);
      throw new PeerError(
        "DISK",
        `Cannot save ${details.name}: ${why}; verified chunks are kept in ${path}.part for the next run`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    if (ownPool) pool[Symbol.dispose]();
  }
}

/** Pings every online holder (reusing earlier pings) and ranks them. */
async function rankHolders(
  details: FileDetails,
  pool: ConnectionPool,
  options: DownloadOptions,
): Promise<RankedCandidate[]> {
  const holders = details.peers.filter((p) => p.online && p.user !== options.self);
  if (holders.length === 0) {
    throw new PeerError(
      "NO_SOURCE",
      `Cannot download ${details.name}: no other peer that has it is online`,
    );
  }
  const pinged: Candidate[] = await Promise.all(holders.map(async (p) => {
    let rttMs = pool.pings.get(p.user);
    if (rttMs === undefined) {
      const tls = pool.tlsFor(p);
      rttMs = (await pingPeer(p.host, p.port, {
        timeoutMs: options.pingTimeoutMs ?? 3_000,
        ...(tls ? { tls } : {}),
      })).rttMs;
      pool.pings.set(p.user, rttMs);
    }
    return {
      user: p.user,
      host: p.host,
      port: p.port,
      ...(p.tls ? { tls: true } : {}),
      rttMs,
      downloads: p.downloads,
      failures: p.failures,
      ...(p.complete === false ? { partial: true } : {}),
    };
  }));
  const ranked = rankSources(pinged);
  options.onRanked?.(ranked, pinged.filter((c) => c.rttMs === null));
  if (ranked.length === 0) {
    throw new PeerError(
      "NO_SOURCE",
      `Cannot download ${details.name}: no peer that has it answered a ping`,
    );
  }
  return ranked;
}

/** The state of one file's transfer: the part file, the scheduler, the sources at work. */
class Transfer implements AsyncDisposable {
  readonly #partPath: string;
  readonly #details: FileDetails;
  readonly #scheduler: ChunkScheduler;
  readonly #pool: ConnectionPool;
  readonly #options: DownloadOptions;
  readonly #saver: StateSaver;
  readonly #hasher: WholeHasher;
  /** `NAME.part`, opened once without following links; every source writes through it. */
  readonly #file: Deno.FsFile;
  #doneBytes: number;
  #completed = false;
  /** Files of one chunk have nothing to resume: no state file for them. */
  readonly #resumable: boolean;
  /** The `.part` as other peers see it while this download serves it (see `swarm_files.ts`). */
  #served: SwarmFile | undefined;
  /** The read ticket shown on each new source connection, and its renewal if one is running. */
  #ticket: string | undefined;
  #renewal: Promise<string | undefined> | undefined;

  private constructor(
    partPath: string,
    file: Deno.FsFile,
    details: FileDetails,
    scheduler: ChunkScheduler,
    pool: ConnectionPool,
    options: DownloadOptions,
  ) {
    this.#partPath = partPath;
    this.#file = file;
    this.#details = details;
    this.#scheduler = scheduler;
    this.#pool = pool;
    this.#options = options;
    this.#doneBytes = bytesOfChunks(details, scheduler.verified());
    this.#saver = new StateSaver(partPath, () => ({
      sha256: details.sha256,
      size: details.size,
      chunkSize: details.chunkSize,
      verified: encodeVerified(scheduler),
    }));
    this.#hasher = new WholeHasher(partPath, details.size);
    this.#resumable = details.chunkHashes.length > 1;
    this.#hasher.advance(chunkRange(scheduler.prefix, details).offset);
    this.#ticket = details.ticket;
  }

  /** The ticket to show a new connection: renewed first when it expires within a minute. */
  async #currentTicket(): Promise<string | undefined> {
    const ticket = this.#ticket;
    const renew = this.#options.renewTicket;
    if (ticket === undefined || renew === undefined) return ticket;
    const { version, expiresAt } = decodeTicket(ticket).payload;
    if (expiresAt - Date.now() > TICKET_RENEW_MARGIN_MS) return ticket;
    this.#renewal ??= renew().then((fresh) => {
      // Only a ticket for the same version will do; otherwise keep the old one.
      if (fresh !== undefined && decodeTicket(fresh).payload.version === version) {
        this.#ticket = fresh;
      }
      return this.#ticket;
    }, () => this.#ticket).finally(() => this.#renewal = undefined);
    return await this.#renewal;
  }

  /** Creates or reopens `NAME.part` at full length and records its state. */
  static async open(
    partPath: string,
    details: FileDetails,
    scheduler: ChunkScheduler,
    fresh: boolean,
    pool: ConnectionPool,
    options: DownloadOptions,
  ): Promise<Transfer> {
    let file: Deno.FsFile;
    try {
      // Never `truncate` at open: that would act before the handle is checked.
      file = openNoFollow(partPath, { read: true, write: true, create: true });
    } catch (cause) {
      if (cause instanceof PeerError) throw cause;
      throw new DiskError(cause);
    }
    try {
      if (fresh) file.truncateSync(0);
      file.truncateSync(details.size);
    } catch (cause) {
      file.close();
      throw new DiskError(cause);
    }
    const transfer = new Transfer(partPath, file, details, scheduler, pool, options);
    if (transfer.#resumable) await transfer.#saver.flush();
    if (options.swarm) {
      transfer.#served = {
        name: details.name,
        id: details.id,
        sha256: details.sha256,
        size: details.size,
        chunkSize: details.chunkSize,
        have: scheduler.doneMap,
        readAt: (buffer, position) => {
          // Seek and read in one synchronous step: sources write through the same handle.
          file.seekSync(position, Deno.SeekMode.Start);
          return file.readSync(buffer);
        },
      };
      options.swarm.add(transfer.#served);
    }
    return transfer;
  }

  /** Runs the sources (see `source_pool.ts`) until every chunk is verified; their results. */
  async run(ranked: RankedCandidate[]): Promise<SourceResult[]> {
    const options = this.#options;
    const details = this.#details;
    const scheduler = this.#scheduler;
    let stalled: number | null = null;
    const pool = new SourcePool({
      clock: systemClock,
      scheduler,
      name: details.name,
      maxSources: options.maxSources ?? 4,
      ...(options.self ? { self: options.self } : {}),
      ...(options.discover ? { discover: options.discover } : {}),
      ...(options.discoverMs ? { discoverMs: options.discoverMs } : {}),
      ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      onStall: (missing) => {
        if (missing === stalled) return;
        stalled = missing;
        this.#progress(pool.active, missing, pool.activeUsers);
      },
      onBlame: async (source, reason, bytes) => {
        await options.onReport?.({ source, ok: false, bytes, reason });
      },
      fetch: (source, picker, signal) =>
        fetchChunks(source, picker, {
          details,
          pool: this.#pool,
          ticket: () => this.#currentTicket(),
          ...(options.downloaderKey ? { downloaderKey: options.downloaderKey } : {}),
          ...(options.pipelineDepth ? { pipelineDepth: options.pipelineDepth } : {}),
          stallMs: options.sourceStallMs ?? 8_000,
          ...(options.limiter ? { limiter: options.limiter } : {}),
          signal,
        }),
      accept: (source, chunk) => {
        if (scheduler.isDone(chunk.index)) {
          scheduler.release(chunk.index, source); // lost an endgame race
          return false;
        }
        const range = chunkRange(chunk.index, details);
        writeAt(this.#file, chunk.bytes, range.offset);
        scheduler.complete(chunk.index, source);
        options.swarm?.credit(source, range.length);
        this.#doneBytes += range.length;
        if (this.#resumable) this.#saver.mark();
        this.#hasher.advance(chunkRange(scheduler.prefix, details).offset);
        options.swarm?.changed(details.name);
        stalled = null;
        this.#progress(pool.active, null, pool.activeUsers);
        return true;
      },
    });
    // What an earlier run kept is served (and announced) from the start.
    this.#progress(0, null);
    return await pool.run(ranked);
  }

  #progress(activeSources: number, stalled: number | null, sources: string[] = []): void {
    this.#options.onProgress?.({
      phase: "fetch",
      doneBytes: this.#doneBytes,
      totalBytes: this.#details.size,
      activeSources,
      ...(stalled !== null ? { stalledChunks: stalled } : {}),
      ...(sources.length > 0 ? { sources } : {}),
    });
  }

  /** Checks the whole-file hash, syncs and renames `NAME.part` to `path`. */
  async finish(path: string): Promise<void> {
    if (this.#resumable) await this.#saver.flush();
    // A one-chunk file is its only chunk: when the manifest agrees, that chunk's check was the
    // whole-file check, and reading the file back would only repeat it.
    const oneChunk = this.#details.chunkHashes.length === 1 &&
      this.#details.chunkHashes[0] === this.#details.sha256;
    const digest = oneChunk ? this.#details.sha256 : await this.#hasher.finish();
    if (digest !== this.#details.sha256) {
      await removePart(this.#partPath);
      throw new PeerError(
        "VERIFY_FAILED",
        `Cannot verify ${this.#details.name}: whole-file SHA-256 ${digest} does not match ${this.#details.sha256}`,
      );
    }
    try {
      await this.#file.syncData(); // may take a while: async, so other downloads go on meanwhile
    } catch (cause) {
      throw new DiskError(cause);
    }
    // The folders, the target and the .part are checked again: nothing swapped in meanwhile.
    prepareFolders(this.#options.outDir, this.#details.name);
    refuseNonFile(path, this.#details.name);
    if (!isStillAt(this.#file, this.#partPath)) {
      throw new PeerError(
        "PATH_ESCAPE",
        `Cannot save ${this.#details.name}: ${this.#partPath} was replaced during the download`,
      );
    }
    try {
      Deno.renameSync(this.#partPath, path);
    } catch (cause) {
      throw new DiskError(cause);
    }
    this.#completed = true;
    await Deno.remove(statePath(this.#partPath)).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#served) this.#options.swarm?.remove(this.#served);
    this.#hasher[Symbol.dispose]();
    // Keep verified chunks for a resume.
    if (!this.#completed && this.#resumable) await this.#saver.flush();
    this.#file.close();
  }
}

/** A ticket that expires within this long is renewed before it is shown to a new source. */
const TICKET_RENEW_MARGIN_MS = 60_000;

/**
 * Writes a verified chunk at its offset. Synchronous on purpose: a 1 MiB write into the page cache
 * takes ≈ 65 µs this way against ≈ 200 µs through the async op and its thread hop (measured here),
 * and the downloader is CPU-bound.
 */
function writeAt(file: Deno.FsFile, bytes: Uint8Array, offset: number): void {
  try {
    file.seekSync(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
  } catch (cause) {
    throw new DiskError(cause);
  }
}

/** Writing the `.part` file failed: no other source can help, so the download stops. */
class DiskError extends Error {
  constructor(cause: unknown) {
    super(`Cannot write: ${cause instanceof Error ? cause.message : cause}`, { cause });
    this.name = "DiskError"; // what `source_pool.ts` recognizes as fatal
  }
}

function encodeVerified(scheduler: ChunkScheduler): string {
  const bits = new Uint8Array(Math.ceil(scheduler.total / 8));
  for (let i = 0; i < scheduler.total; i++) {
    if (scheduler.isDone(i)) bits[i >> 3]! |= 1 << (i & 7);
  }
  return bits.toBase64();
}

function bytesOfChunks(details: FileDetails, indexes: number[]): number {
  return indexes.reduce((sum, i) => sum + chunkRange(i, details).length, 0);
}

function isDiskFull(error: unknown): boolean {
  return (error as { code?: string })?.code === "ENOSPC" ||
    (error instanceof Error && /no space left/i.test(error.message));
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
