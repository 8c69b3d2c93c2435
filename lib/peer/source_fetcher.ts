/**
 * Fetching chunks of one version from one source: connect (or reuse a pooled connection), show the
 * read ticket, learn what the source holds (`have`), then keep `pipelineDepth` `read` requests in
 * flight, asking a {@link ChunkPicker} for the next chunk as answers arrive. Every chunk is checked
 * against its SHA-256 before it is handed on; a source that sends nothing for `stallMs` while
 * requests are pending is given up with a `TIMEOUT`. A source that holds only part of the file is
 * asked `have` again as it goes (and, when it has nothing this download needs, waits there for
 * more); one that says `BUSY` (its upload slots are taken) gets its chunks back and is asked again
 * shortly.
 *
 * {@link fetchChunks} yields verified chunks; the caller (the transfer) writes them and marks them
 * done before asking for the next.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type FileDetails, ProtocolError, RemoteError } from "../protocol/mod.ts";
import { chunkRange } from "./chunking.ts";
import type { ConnectionPool } from "./connection_pool.ts";
import { type DownloaderKey, processDownloaderKey } from "./downloader_key.ts";
import type { PeerClient } from "./peer_client.ts";
import type { RankedCandidate } from "./ranking.ts";
import type { RateLimiter } from "./rate_limiter.ts";

/** What a source fetcher asks of the transfer's scheduler. */
export interface ChunkPicker {
  /** The next chunk for `source`, or null when it has nothing to do now. */
  take(source: string): number | null;
  /** Gives chunk `index` back from `source`. */
  release(index: number, source: string): void;
  /** Sets what `source` holds (null: the whole file). */
  setHave(source: string, have: Uint8Array | null, partial?: boolean): void;
  /** Whether a chunk in flight elsewhere may be raced by `source` later (endgame). */
  raceable(source: string): boolean;
  /** Whether every chunk is verified. */
  readonly finished: boolean;
}

/** Options of {@link fetchChunks}. */
export interface SourceFetchOptions {
  /** The version. */
  details: FileDetails;
  /** Connections reused between files. */
  pool: ConnectionPool;
  /** The read ticket to show (renewed by the caller when it is about to expire). */
  ticket: () => Promise<string | undefined>;
  /** The key the ticket is bound to. Default: this process's downloader key. */
  downloaderKey?: DownloaderKey;
  /** `read` requests kept in flight. Default 4. */
  pipelineDepth?: number;
  /** Gives up on a source that sends nothing for this long while requests are pending. */
  stallMs: number;
  /** Limits the download rate. */
  limiter?: RateLimiter;
  /** Stops fetching (connections with answers still due are closed). */
  signal: AbortSignal;
}

/** One verified chunk. Its `bytes` are reused for the next chunk: use them before asking on. */
export interface VerifiedChunk {
  /** Chunk index. */
  index: number;
  /** Its bytes, checked against its SHA-256. */
  bytes: Uint8Array;
  /** Milliseconds from its request to its last byte. */
  elapsedMs: number;
}

/** A chunk whose bytes do not match its SHA-256. */
export class ChunkCorrupt extends Error {
  /** For chunk `index`. */
  constructor(readonly index: number) {
    super(`Cannot accept chunk ${index}: SHA-256 does not match`);
  }
}

/** Marks a pending `have` request among the pending chunk reads. */
const HAVE = -1;

/** A source that is not complete is asked `have` again at most this often while it sends. */
const HAVE_POLL_MS = 500;

/** A seed that holds chunks back is asked `have` again after this pause when parked. */
const PARK_POLL_MS = 300;

/** A source that said `BUSY` (every upload slot taken) is asked again after this pause. */
const CHOKE_RETRY_MS = 300;

/** How often an idle source looks again for overdue chunks to race. */
const ENDGAME_POLL_MS = 25;

/**
 * Fetches chunks of `options.details` from `source` until the picker has nothing left for it (or
 * the download finished, or `signal` aborts), yielding each verified chunk. Throws what went wrong
 * with the source: a {@link ChunkCorrupt}, a `TIMEOUT` {@link ProtocolError} after a stall, the
 * source's refusal, or a closed connection.
 *
 * @example
 * ```ts ignore
 * for await (const chunk of fetchChunks(source, scheduler, options)) write(chunk);
 * ```
 */
export async function* fetchChunks(
  source: RankedCandidate,
  picker: ChunkPicker,
  options: SourceFetchOptions,
): AsyncGenerator<VerifiedChunk, void, void> {
  const { details, stallMs } = options;
  const depth = Math.max(1, options.pipelineDepth ?? 4);
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const pending: number[] = [];
  let client: PeerClient | undefined;
  let lastByte = performance.now();
  let stalled = false;
  const watchdog = setInterval(() => {
    if (pending.length > 0 && performance.now() - lastByte > stallMs) {
      stalled = true;
      stop.abort();
    }
  }, Math.min(1000, stallMs / 4));
  const cleanups: Array<() => void> = [];
  try {
    client = await options.pool.acquire(source, { signal, timeoutMs: 5_000 });
    if (client.user !== source.user) {
      throw new ProtocolError(
        "BAD_MESSAGE",
        `Cannot use ${source.user}: a different peer (${client.user}) answered`,
      );
    }
    const peer = client;
    const ticket = await options.ticket();
    if (ticket !== undefined) {
      const key = options.downloaderKey ?? await processDownloaderKey();
      // A peer that never answers the ticket is hung up on, like one that stalls.
      const answer = AbortSignal.any([signal, AbortSignal.timeout(stallMs)]);
      const hangUpNow = () => peer.close();
      answer.addEventListener("abort", hangUpNow, { once: true });
      try {
        await peer.showTicket(ticket, key);
      } finally {
        answer.removeEventListener("abort", hangUpNow);
      }
    }
    // Stopping closes the connection only while answers are still due on it (an endgame copy, a
    // failure, Ctrl-C); a connection with nothing pending goes back to the pool.
    const hangUp = () => {
      if (pending.length > 0) peer.close();
    };
    signal.addEventListener("abort", hangUp, { once: true });
    cleanups.push(() => signal.removeEventListener("abort", hangUp));
    const chunkBuffer = new Uint8Array(Math.min(details.chunkSize, details.size));
    const chunks = details.chunkHashes.length;
    // What the source holds: it says with `have`; one that is not complete (a partial holder, or
    // a seed handing out its rarest chunks) is asked again now and then for more.
    let complete = true;
    let lastHaveAsk = performance.now();
    let havePending = false;
    let reads = 0;
    let choked = false; // told `BUSY`: ask again after a pause
    const askHave = async (wait: boolean) => {
      pending.push(HAVE);
      await peer.sendHave(details.name, details.id, wait);
      const answer = await peer.expectHave(chunks);
      pending.shift();
      complete = answer.complete;
      picker.setHave(source.user, complete ? null : answer.have, source.partial);
      lastHaveAsk = performance.now();
      lastByte = performance.now();
    };
    // A file of a few chunks from a complete source: nothing to learn from a have-map (there is
    // no super-seeding to do), so no round trip for it.
    if (source.partial || chunks > depth) await askHave(false);
    const fill = async () => {
      while (!choked && reads < depth && !signal.aborted) {
        const index = picker.take(source.user);
        if (index === null) break;
        const range = chunkRange(index, details);
        pending.push(index);
        reads++;
        await peer.sendRead(details.name, details.sha256, range.offset, range.length);
      }
      if (
        !complete && !havePending && reads > 0 && performance.now() - lastHaveAsk > HAVE_POLL_MS
      ) {
        havePending = true;
        lastHaveAsk = performance.now();
        pending.push(HAVE);
        await peer.sendHave(details.name, details.id);
      }
    };
    lastByte = performance.now();
    while (!signal.aborted) {
      await fill();
      if (pending.length === 0) {
        if (picker.finished) break;
        if (choked) {
          await pause(CHOKE_RETRY_MS, signal);
          choked = false;
        } else if (complete) {
          // Endgame: chunks still in flight elsewhere are raced once they are overdue.
          if (!picker.raceable(source.user)) break;
          await pause(ENDGAME_POLL_MS, signal);
        } else {
          // Parked: nothing here this download still needs. A partial holder answers when it has
          // more; a seed that holds chunks back is asked again after a pause.
          if (!source.partial) await pause(PARK_POLL_MS, signal);
          if (!signal.aborted) await askHave(source.partial === true);
        }
        lastByte = performance.now();
        continue;
      }
      const index = pending[0]!;
      if (index === HAVE) {
        const answer = await peer.expectHave(chunks);
        pending.shift();
        havePending = false;
        complete = answer.complete;
        picker.setHave(source.user, complete ? null : answer.have, source.partial);
        lastByte = performance.now();
        continue;
      }
      const range = chunkRange(index, details);
      const requested = performance.now();
      try {
        await peer.expectData(range.offset, range.length);
      } catch (error) {
        if (!(error instanceof RemoteError && error.code === "BUSY")) throw error;
        pending.shift();
        reads--;
        picker.release(index, source.user);
        choked = true;
        lastByte = performance.now();
        continue;
      }
      await options.limiter?.take(range.length, signal);
      const buffer = chunkBuffer.subarray(0, range.length);
      lastByte = performance.now();
      for (let at = 0; at < buffer.length; at += 256 * 1024) {
        await peer.readExact(buffer.subarray(at, Math.min(at + 256 * 1024, buffer.length)));
        lastByte = performance.now();
      }
      pending.shift();
      reads--;
      // Even a copy that lost an endgame race is checked: a source that lies is dropped.
      if (createHash("sha256").update(buffer).digest("hex") !== details.chunkHashes[index]) {
        throw new ChunkCorrupt(index);
      }
      yield { index, bytes: buffer, elapsedMs: performance.now() - requested };
    }
    for (const cleanup of cleanups.splice(0)) cleanup();
    options.pool.release(peer, source, pending.length === 0);
    client = undefined;
  } catch (error) {
    if (options.signal.aborted) return; // finished, or the whole download was stopped
    if (stalled) {
      throw new ProtocolError(
        "TIMEOUT",
        `Cannot read from ${source.user}: nothing arrived for ${stallMs} ms`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    for (const cleanup of cleanups) cleanup();
    clearInterval(watchdog);
    client?.close();
    stop.abort();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
