/**
 * The seed's simple download: ping every online holder at once, rank them, pull the file from the
 * best one chunk by chunk, and fall back to the next from the first chunk not yet verified. Every
 * chunk is checked against the tracker's SHA-256 before it is written, and the whole file after;
 * bytes go to `NAME.part` and are renamed to `NAME` only when complete and verified.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import {
  type FailureReason,
  type FileDetails,
  ProtocolError,
  RemoteError,
} from "../protocol/mod.ts";
import { chunkRange } from "./chunking.ts";
import { removePart, resumableChunks, saveState, statePath } from "./part_state.ts";
import { PeerError } from "./errors.ts";
import { PeerClient, pingPeer } from "./peer_client.ts";
import { type Candidate, type RankedCandidate, rankSources } from "./ranking.ts";

/** How often (in chunks) the resume state is saved while downloading. */
const SAVE_EVERY_CHUNKS = 8;

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
  /** Gives up on a source that sends nothing for this long while data is due. Default 15 s. */
  stallTimeoutMs?: number;
  /** Ping timeout per candidate. Default 3 s. */
  pingTimeoutMs?: number;
  /** Called with verified bytes so far. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Called with each source's outcome (to report to the tracker). */
  onReport?: (report: SourceReport) => Promise<void>;
  /** Called with the ranking before the transfer starts. */
  onRanked?: (ranked: RankedCandidate[], unreachable: Candidate[]) => void;
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
  /** Users that delivered bytes, in order. */
  sources: string[];
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
  const started = performance.now();
  const path = join(options.outDir, ...details.name.split("/"));
  if (!options.force && (await exists(path))) {
    throw new PeerError(
      "EXISTS",
      `Cannot save ${details.name}: ${path} exists (use --force to replace it)`,
    );
  }
  const candidates = details.peers.filter((p) => p.online && p.user !== options.self);
  if (candidates.length === 0 && details.size > 0) {
    throw new PeerError(
      "NO_SOURCE",
      `Cannot download ${details.name}: no other peer that has it is online`,
    );
  }
  const pinged: Candidate[] = await Promise.all(candidates.map(async (p) => {
    const ping = await pingPeer(p.host, p.port, { timeoutMs: options.pingTimeoutMs ?? 3_000 });
    return {
      user: p.user,
      host: p.host,
      port: p.port,
      rttMs: ping.rttMs,
      downloads: p.downloads,
      failures: p.failures,
    };
  }));
  const ranked = rankSources(pinged);
  options.onRanked?.(ranked, pinged.filter((c) => c.rttMs === null));
  if (ranked.length === 0 && details.size > 0) {
    throw new PeerError(
      "NO_SOURCE",
      `Cannot download ${details.name}: no peer that has it answered a ping`,
    );
  }

  await Deno.mkdir(dirname(path), { recursive: true });
  const partPath = `${path}.part`;
  const whole = createHash("sha256");
  const delivered = new Map<string, number>();
  const reused = await resumableChunks(partPath, details, whole, options.onProgress);
  let nextChunk = reused;
  const chunkTotal = details.chunkHashes.length;
  const save = (verifiedChunks: number) =>
    saveState(partPath, {
      sha256: details.sha256,
      size: details.size,
      chunkSize: details.chunkSize,
      verifiedChunks,
    });
  try {
    {
      await using file = await Deno.open(partPath, {
        write: true,
        create: true,
        truncate: reused === 0,
      });
      await save(reused);
      const failures: string[] = [];
      for (const source of ranked) {
        if (nextChunk >= chunkTotal) break;
        options.signal?.throwIfAborted();
        const before = nextChunk;
        try {
          nextChunk = await fetchFrom(source, details, nextChunk, file, whole, {
            ...options,
            onWritten: (count) => {
              nextChunk = count;
              return count % SAVE_EVERY_CHUNKS === 0 ? save(count) : Promise.resolve();
            },
          });
          delivered.set(source.user, bytesOf(details, before, nextChunk));
          await options.onReport?.({
            source: source.user,
            ok: true,
            bytes: delivered.get(source.user)!,
          });
        } catch (error) {
          if (options.signal?.aborted || error instanceof DiskError) throw error;
          if (nextChunk > before) delivered.set(source.user, bytesOf(details, before, nextChunk));
          const reason = failureReasonOf(error);
          failures.push(`${source.user}: ${reason}`);
          await options.onReport?.({
            source: source.user,
            ok: false,
            bytes: bytesOf(details, before, nextChunk),
            reason,
          });
        }
      }
      await save(nextChunk);
      if (nextChunk < chunkTotal) {
        throw new PeerError(
          "NO_SOURCE",
          `Cannot download ${details.name}: every source failed (${failures.join("; ")})`,
        );
      }
      const sha256 = whole.digest("hex");
      if (sha256 !== details.sha256) {
        await removePart(partPath);
        throw new PeerError(
          "VERIFY_FAILED",
          `Cannot verify ${details.name}: whole-file SHA-256 ${sha256} does not match ${details.sha256}`,
        );
      }
      await file.syncData();
    }
    await Deno.rename(partPath, path);
    await Deno.remove(statePath(partPath)).catch(() => {});
  } catch (error) {
    // Verified chunks stay in NAME.part (with NAME.part.json) for the next run to resume from.
    await save(nextChunk).catch(() => {});
    if (error instanceof DiskError || isDiskFull(error)) {
      const why = isDiskFull(error instanceof DiskError ? error.cause : error)
        ? "the disk is full"
        : error instanceof Error
        ? error.message
        : String(error);
      throw new PeerError(
        "DISK",
        `Cannot save ${details.name}: ${why}; verified chunks are kept in ${partPath} for the next run`,
        { cause: error },
      );
    }
    throw error;
  }
  return {
    name: details.name,
    path,
    size: details.size,
    sha256: details.sha256,
    sources: [...delivered.keys()],
    seconds: (performance.now() - started) / 1000,
    fetchedBytes: bytesOf(details, reused, chunkTotal),
    reusedBytes: bytesOf(details, 0, reused),
  };
}

/** Fetches chunks from `first` on from one source; returns the index after the last verified. */
async function fetchFrom(
  source: RankedCandidate,
  details: FileDetails,
  first: number,
  file: Deno.FsFile,
  whole: ReturnType<typeof createHash>,
  options: DownloadOptions & { onWritten: (chunks: number) => Promise<void> },
): Promise<number> {
  const stallMs = options.stallTimeoutMs ?? 15_000;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal;
  using peer = await PeerClient.connect(source.host, source.port, { signal });
  if (peer.user !== source.user) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `Cannot use ${source.user}: a different peer (${peer.user}) answered`,
    );
  }
  peer.closeOnAbort(signal);
  let stalled = false;
  let watchdog = setTimeout(() => (stalled = true, stop.abort()), stallMs);
  const progress = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => (stalled = true, stop.abort()), stallMs);
  };
  try {
    const offset = first * details.chunkSize;
    await peer.requestRange(details.name, details.sha256, offset, details.size - offset);
    const buffers = [new Uint8Array(details.chunkSize), new Uint8Array(details.chunkSize)];
    let pendingWrite: Promise<void> = Promise.resolve();
    let hashed = first; // chunks folded into `whole`; each has its write in flight or done
    try {
      for (let index = first; index < details.chunkHashes.length; index++) {
        const range = chunkRange(index, details);
        const buffer = buffers[index % 2]!.subarray(0, range.length);
        await readWithProgress(peer, buffer, progress);
        const digest = createHash("sha256").update(buffer).digest("hex");
        if (digest !== details.chunkHashes[index]) {
          throw new ChunkCorrupt(index);
        }
        await pendingWrite;
        await options.onWritten(hashed);
        whole.update(buffer);
        hashed = index + 1;
        pendingWrite = writeAt(file, buffer, range.offset);
        options.onProgress?.(range.offset + range.length, details.size);
      }
    } finally {
      await pendingWrite;
      await options.onWritten(hashed);
    }
    return hashed;
  } catch (error) {
    if (stalled) {
      throw new ProtocolError(
        "TIMEOUT",
        `Cannot read from ${source.user}: stalled for ${stallMs} ms`,
      );
    }
    throw error;
  } finally {
    clearTimeout(watchdog);
    stop.abort();
  }
}

class ChunkCorrupt extends Error {
  constructor(readonly index: number) {
    super(`Cannot accept chunk ${index}: SHA-256 does not match`);
  }
}

async function readWithProgress(
  peer: PeerClient,
  target: Uint8Array,
  progress: () => void,
): Promise<void> {
  // One readExact per 1 MiB keeps the watchdog fed without a call per socket read.
  const step = 1024 * 1024;
  for (let at = 0; at < target.length; at += step) {
    await peer.readExact(target.subarray(at, Math.min(at + step, target.length)));
    progress();
  }
}

async function writeAt(file: Deno.FsFile, bytes: Uint8Array, offset: number): Promise<void> {
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < bytes.length) done += await file.write(bytes.subarray(done));
  } catch (cause) {
    throw new DiskError(cause);
  }
}

/** Writing the `.part` file failed: no other source can help, so the download stops. */
class DiskError extends Error {
  constructor(cause: unknown) {
    super(`Cannot write: ${cause instanceof Error ? cause.message : cause}`, { cause });
  }
}

function bytesOf(details: FileDetails, from: number, to: number): number {
  return Math.max(0, Math.min(details.size, to * details.chunkSize) - from * details.chunkSize);
}

function failureReasonOf(error: unknown): FailureReason {
  if (error instanceof ChunkCorrupt) return "corrupt";
  if (error instanceof RemoteError) {
    if (error.code === "NOT_FOUND") return "not_found";
    if (error.code === "STALE") return "stale";
    return "refused";
  }
  if (error instanceof ProtocolError) return error.code === "TIMEOUT" ? "timeout" : "closed";
  if (error instanceof Deno.errors.ConnectionRefused) return "refused";
  return "closed";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function isDiskFull(error: unknown): boolean {
  return (error as { code?: string })?.code === "ENOSPC" ||
    (error instanceof Error && /no space left/i.test(error.message));
}
