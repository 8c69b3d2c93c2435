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
 * done before asking for the next. Connections come from a {@link SourceConnector} and time from a
 * {@link Clock}: the connection pool and the system clock in a download, in-memory links and a
 * virtual clock in the swarm simulator (`tests/sim/`), which runs this very code.
 *
 * What a source says is weighed: a chunk whose bytes do not match is {@link ChunkCorrupt}; a
 * `NOT_FOUND` for a chunk the source advertised (every chunk of a complete source, or one in its
 * have-map) is {@link ChunkRefused}, a lie, blamed like a corrupt chunk; `GONE` (it stopped serving
 * the version: a download that ended) is {@link SourceGone}, no fault.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type FileDetails, ProtocolError, RemoteError } from "../protocol/mod.ts";
import { chunkRange } from "./chunking.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { PeerTarget } from "./connection_pool.ts";
import { type DownloaderKey, processDownloaderKey } from "./downloader_key.ts";
import type { RankedCandidate } from "./ranking.ts";
import type { RateLimiter } from "./rate_limiter.ts";

/** One connection to a source, as the fetcher uses it (a `PeerClient`, or a simulated link). */
export interface SourceLink {
  /** The user that answered `hello`. */
  readonly user: string;
  /** Whether the connection is closed. */
  readonly closed: boolean;
  /** Shows a read ticket, with the proof that this downloader holds its key. */
  showTicket(ticket: string, key: DownloaderKey): Promise<void>;
  /** Asks which chunks of version `id` the source serves (with `wait`: once it has more). */
  sendHave(name: string, id: string, wait?: boolean): Promise<void>;
  /** Reads the answer to a `have`. */
  expectHave(chunks: number): Promise<{ have: Uint8Array; complete: boolean }>;
  /** Asks for `length` bytes at `offset`. */
  sendRead(name: string, sha256: string, offset: number, length: number): Promise<void>;
  /** Reads the header of the answer to a `read` (throws the source's refusal). */
  expectData(offset: number, length: number): Promise<void>;
  /** Reads exactly `target.length` bytes of the data. */
  readExact(target: Uint8Array): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** Where source connections come from (the connection pool, or a simulated network). */
export interface SourceConnector {
  /** An open connection to `target`. */
  acquire(
    target: PeerTarget,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<SourceLink>;
  /** Gives a connection back: kept when `clean` (nothing pending on it), closed otherwise. */
  release(link: SourceLink, target: PeerTarget, clean: boolean): void;
}

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
  /** Connections (reused between files). */
  pool: SourceConnector;
  /** Time. Default: the system clock. */
  clock?: Clock;
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

/** A source refused a chunk it had advertised (said `NOT_FOUND`): a lie, blamed. */
export class ChunkRefused extends Error {
  /** For chunk `index`, with the source's own words. */
  constructor(readonly index: number, message: string) {
    super(`Cannot accept a refusal of chunk ${index}, which the source advertised: ${message}`);
  }
}

/** A source stopped serving the version (its download ended): no fault of its own. */
export class SourceGone extends Error {
  /** With the source's own words. */
  constructor(message: string) {
    super(message);
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
  const clock = options.clock ?? systemClock;
  const depth = Math.max(1, options.pipelineDepth ?? 4);
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const pending: number[] = [];
  let client: SourceLink | undefined;
  let lastByte = clock.now();
  let stalled = false;
  const stopWatchdog = clock.every(Math.min(1000, stallMs / 4), () => {
    if (pending.length > 0 && clock.now() - lastByte > stallMs) {
      stalled = true;
      stop.abort();
    }
  });
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
      } catch (error) {
        throw gone(error) ?? error;
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
    let lastHaveAsk = clock.now();
    let havePending = false;
    let reads = 0;
    let choked = false; // told `BUSY`: ask again after a pause
    const readHave = async () => {
      try {
        return await peer.expectHave(chunks);
      } catch (error) {
        throw gone(error) ?? error;
      }
    };
    const askHave = async (wait: boolean) => {
      pending.push(HAVE);
      await peer.sendHave(details.name, details.id, wait);
      const answer = await readHave();
      pending.shift();
      complete = answer.complete;
      picker.setHave(source.user, complete ? null : answer.have, source.partial);
      lastHaveAsk = clock.now();
      lastByte = clock.now();
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
        !complete && !havePending && reads > 0 && clock.now() - lastHaveAsk > HAVE_POLL_MS
      ) {
        havePending = true;
        lastHaveAsk = clock.now();
        pending.push(HAVE);
        await peer.sendHave(details.name, details.id);
      }
    };
    lastByte = clock.now();
    while (!signal.aborted) {
      await fill();
      if (pending.length === 0) {
        if (picker.finished) break;
        if (choked) {
          await clock.sleep(CHOKE_RETRY_MS, signal);
          choked = false;
        } else if (complete) {
          // Endgame: chunks still in flight elsewhere are raced once they are overdue.
          if (!picker.raceable(source.user)) break;
          await clock.sleep(ENDGAME_POLL_MS, signal);
        } else {
          // Parked: nothing here this download still needs. A partial holder answers when it has
          // more; a seed that holds chunks back is asked again after a pause.
          if (!source.partial) await clock.sleep(PARK_POLL_MS, signal);
          if (!signal.aborted) await askHave(source.partial === true);
        }
        lastByte = clock.now();
        continue;
      }
      const index = pending[0]!;
      if (index === HAVE) {
        const answer = await readHave();
        pending.shift();
        havePending = false;
        complete = answer.complete;
        picker.setHave(source.user, complete ? null : answer.have, source.partial);
        lastByte = clock.now();
        continue;
      }
      const range = chunkRange(index, details);
      const requested = clock.now();
      try {
        await peer.expectData(range.offset, range.length);
      } catch (error) {
        if (error instanceof RemoteError && error.code === "NOT_FOUND") {
          // Asked only for chunks it advertised: saying it has not got one is a lie.
          throw new ChunkRefused(index, error.message);
        }
        if (!(error instanceof RemoteError && error.code === "BUSY")) throw gone(error) ?? error;
        pending.shift();
        reads--;
        picker.release(index, source.user);
        choked = true;
        lastByte = clock.now();
        continue;
      }
      await options.limiter?.take(range.length, signal);
      const buffer = chunkBuffer.subarray(0, range.length);
      lastByte = clock.now();
      for (let at = 0; at < buffer.length; at += 256 * 1024) {
        await peer.readExact(buffer.subarray(at, Math.min(at + 256 * 1024, buffer.length)));
        lastByte = clock.now();
      }
      pending.shift();
      reads--;
      // Even a copy that lost an endgame race is checked: a source that lies is dropped.
      if (createHash("sha256").update(buffer).digest("hex") !== details.chunkHashes[index]) {
        throw new ChunkCorrupt(index);
      }
      yield { index, bytes: buffer, elapsedMs: clock.now() - requested };
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
    stopWatchdog();
    client?.close();
    stop.abort();
  }
}

/** A `GONE` refusal as a {@link SourceGone}; undefined for any other error. */
function gone(error: unknown): SourceGone | undefined {
  return error instanceof RemoteError && error.code === "GONE"
    ? new SourceGone(error.message)
    : undefined;
}
