/**
 * The download of one file, orchestrated: check the details, take the download's lock and its
 * `.part` (`download_lock.ts`, `part_claim.ts`), re-verify what an earlier run kept
 * (`part_state.ts`), rank the online holders (`ranking.ts`), run the sources (`source_pool.ts`:
 * slots, rotation, retries, discovery of holders found later, stalls; each source through
 * `source_fetcher.ts`), write each verified chunk into the `.part` (`part_file.ts`), record it in
 * `NAME.part.json` so an interrupted download resumes, and check the whole file's SHA-256 (on a
 * worker, following the verified prefix: `whole_hasher.ts`) before `NAME.part` becomes `NAME`.
 * Each source connection shows the read ticket that came with `details`, renewed when it is about
 * to expire (`ticket_renewal.ts`). With `swarm`, the `.part` is served meanwhile from its verified
 * chunks. Sources are reported to the tracker here: the blamed ones as they lie, the others once
 * the whole file checks out (or fails to). The fetch-a-file use case (details, download, reports)
 * is `fetch_file.ts`.
 *
 * Nothing is written through a link: the folders of the name, `NAME.part`, its state and lock and
 * the final `NAME` must not be symbolic links (see `download_folder.ts`), and `NAME.part.lock`
 * keeps a second download of the same file into the same folder out (see `download_lock.ts`).
 *
 * @module
 */
import {
  type FailureReason,
  type FileDetails,
  type HolderInfo,
  PING_TIMEOUT_MS,
} from "../protocol/mod.ts";
import { chunkRange } from "./chunking.ts";
import { ChunkScheduler } from "./chunk_scheduler.ts";
import { systemClock } from "./clock.ts";
import { ConnectionPool } from "./connection_pool.ts";
import { checkDetails } from "./details_check.ts";
import { entryExists, prepareFolders, refuseNonFile } from "./download_folder.ts";
import { DownloadLock, lockPath } from "./download_lock.ts";
import type { DownloaderKey } from "./downloader_key.ts";
import { PeerError } from "./errors.ts";
import { claimPart } from "./part_claim.ts";
import { diskFailure, PartFile } from "./part_file.ts";
import { encodeBitmap, removePart, resumableChunks, statePath, StateSaver } from "./part_state.ts";
import { pingPeer } from "./peer_client.ts";
import { type Candidate, type RankedCandidate, rankHolders } from "./ranking.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { fetchChunks } from "./source_fetcher.ts";
import { SourcePool, type SourceResult } from "./source_pool.ts";
import type { SwarmFile, SwarmFiles } from "./swarm_files.ts";
import { TicketRenewal } from "./ticket_renewal.ts";
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
  if (!options.force && entryExists(path)) {
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

    const ranked = scheduler.finished ? [] : await rankHolders(details, {
      ping: (p) => pingOnce(p, pool, options),
      ...(options.self ? { self: options.self } : {}),
      ...(options.onRanked ? { onRanked: options.onRanked } : {}),
    });
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
    throw diskFailure(error, details.name, partPath) ?? error;
  } finally {
    if (ownPool) pool[Symbol.dispose]();
  }
}

/** Pings a holder, or reuses the round trip an earlier file measured. */
async function pingOnce(
  p: HolderInfo,
  pool: ConnectionPool,
  options: DownloadOptions,
): Promise<number | null> {
  let rttMs = pool.pings.get(p.user);
  if (rttMs === undefined) {
    const tls = pool.tlsFor(p);
    rttMs = (await pingPeer(p.host, p.port, {
      timeoutMs: options.pingTimeoutMs ?? PING_TIMEOUT_MS,
      ...(tls ? { tls } : {}),
    })).rttMs;
    pool.pings.set(p.user, rttMs);
  }
  return rttMs;
}

/**
 * One file's transfer in progress: the `.part` file, the scheduler and the sources at work (see
 * `source_pool.ts`), the state file, the whole-file hash and, with `swarm`, the `.part` served
 * meanwhile.
 */
class Transfer implements AsyncDisposable {
  readonly #details: FileDetails;
  readonly #scheduler: ChunkScheduler;
  readonly #pool: ConnectionPool;
  readonly #options: DownloadOptions;
  readonly #saver: StateSaver;
  readonly #hasher: WholeHasher;
  /** `NAME.part`; every source writes through it. */
  readonly #part: PartFile;
  readonly #ticket: TicketRenewal;
  #doneBytes: number;
  #completed = false;
  /** Files of one chunk have nothing to resume: no state file for them. */
  readonly #resumable: boolean;
  /** The `.part` as other peers see it while this download serves it (see `swarm_files.ts`). */
  #served: SwarmFile | undefined;

  private constructor(
    part: PartFile,
    details: FileDetails,
    scheduler: ChunkScheduler,
    pool: ConnectionPool,
    options: DownloadOptions,
  ) {
    this.#part = part;
    this.#details = details;
    this.#scheduler = scheduler;
    this.#pool = pool;
    this.#options = options;
    this.#doneBytes = bytesOfChunks(details, scheduler.verified());
    this.#saver = new StateSaver(part.path, () => ({
      sha256: details.sha256,
      size: details.size,
      chunkSize: details.chunkSize,
      verified: encodeBitmap(scheduler.verified(), scheduler.total),
    }));
    this.#hasher = new WholeHasher(part.path, details.size);
    this.#resumable = details.chunkHashes.length > 1;
    this.#hasher.advance(chunkRange(scheduler.prefix, details).offset);
    this.#ticket = new TicketRenewal(
      details.ticket,
      options.renewTicket ? { renew: options.renewTicket } : {},
    );
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
    const part = PartFile.open(partPath, details.size, { fresh });
    const transfer = new Transfer(part, details, scheduler, pool, options);
    if (transfer.#resumable) await transfer.#saver.flush();
    if (options.swarm) {
      transfer.#served = {
        name: details.name,
        id: details.id,
        sha256: details.sha256,
        size: details.size,
        chunkSize: details.chunkSize,
        have: scheduler.doneMap,
        readAt: (buffer, position) => part.readAt(buffer, position),
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
          ticket: () => this.#ticket.current(),
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
        this.#part.writeAt(chunk.bytes, range.offset);
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
      await removePart(this.#part.path);
      throw new PeerError(
        "VERIFY_FAILED",
        `Cannot verify ${this.#details.name}: whole-file SHA-256 ${digest} does not match ${this.#details.sha256}`,
      );
    }
    await this.#part.sync();
    // The folders, the target and the .part are checked again: nothing swapped in meanwhile.
    prepareFolders(this.#options.outDir, this.#details.name);
    refuseNonFile(path, this.#details.name);
    this.#part.moveTo(path, this.#details.name);
    this.#completed = true;
    await Deno.remove(statePath(this.#part.path)).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#served) this.#options.swarm?.remove(this.#served);
    this.#hasher[Symbol.dispose]();
    // Keep verified chunks for a resume.
    if (!this.#completed && this.#resumable) await this.#saver.flush();
    this.#part[Symbol.dispose]();
  }
}

function bytesOfChunks(details: FileDetails, indexes: number[]): number {
  return indexes.reduce((sum, i) => sum + chunkRange(i, details).length, 0);
}
