/**
 * The read path of a serving peer: which bytes a `read` is served from, and the checks that keep
 * them the bytes the tracker's manifest names. A shared file is served only when it is in the
 * share index under that name and version; its path is resolved again when it is opened and must
 * still lie inside the shared folder, and before every read the open handle must still have the
 * indexed size and mtime. A file changed since it was indexed (rewritten, truncated, removed) is
 * refused with `STALE` (and reported through `onStale`, so the peer indexes it again) rather than
 * served, since its bytes no longer match the version the reader asked for. A file this peer is
 * downloading is served from the chunks it has verified (see `swarm_files.ts`).
 *
 * These are synchronous calls on purpose: they take microseconds, while the async versions wait
 * for Deno's blocking-task pool, measured here at 2–6 ms per request and up to 90 ms for the first
 * one.
 *
 * @module
 */
import { Refusal } from "./_refusal.ts";
import { type ConnectionTickets, versionOf } from "./read_grants.ts";
import { type IndexedFile, isInside } from "./share_index.ts";
import { rangeVerified, type SwarmFile, type SwarmFiles } from "./swarm_files.ts";

/** What a peer server needs to know about its share. */
export interface ShareView {
  /** This peer's user name, told in `hello`. */
  readonly user: string;
  /** Real path of the shared folder. */
  readonly root: string;
  /** The indexed file of that name, if announced. */
  lookup(name: string): IndexedFile | undefined;
  /** Called when a file no longer matches its index entry. */
  onStale?(name: string): void;
  /** The tracker's ticket key, pinned at login; until there is one, no ticket is accepted. */
  trackerKey?(): CryptoKey | undefined;
  /** A file this peer is downloading (or just downloaded) and serves from what it has verified. */
  partial?(name: string): SwarmFile | undefined;
  /** Where those files live, to wait for more of their chunks (`have` with `wait`). */
  readonly swarm?: SwarmFiles;
}

/** What a `read` is served from: an indexed file or one being downloaded. */
export interface ReadSource {
  /** The version (manifest id). */
  id: string;
  /** Its chunk size. */
  chunkSize: number;
  /** Its size in bytes. */
  size: number;
  /** Reads into `buffer` from `position`: the bytes read, or null at the end. */
  readAt(buffer: Uint8Array, position: number): number | null;
}

/** The part of a `read` request the read path looks at. */
export interface ReadRequest {
  /** The file's name in the share. */
  name: string;
  /** The whole-file SHA-256 of the version asked for. */
  sha256: string;
  /** First byte. */
  offset: number;
  /** Bytes asked for. */
  length: number;
}

/**
 * The read path of one connection. The file it last read stays open between requests (a
 * downloader asks for one chunk after another of the same file): the path is resolved and checked
 * when the file is opened, and each further request re-checks size and mtime on the open handle.
 *
 * @example
 * ```ts ignore
 * using reader = new ShareReader(share);
 * const source = reader.source(request, tickets); // throws a refusal: FORBIDDEN, STALE, ...
 * const n = source.readAt(buffer, request.offset);
 * ```
 */
export class ShareReader implements Disposable {
  readonly #share: ShareView;
  #entry: IndexedFile | undefined;
  #file: Deno.FsFile | undefined;

  /** A read path into `share`. */
  constructor(share: ShareView) {
    this.#share = share;
  }

  /**
   * What `request` is served from, after every check: a ticket for the version was shown on this
   * connection (`tickets`), the version is the one shared, the range lies inside it, and the file
   * is unchanged since it was indexed. Throws a refusal with the wire's code otherwise.
   */
  source(request: ReadRequest, tickets: ConnectionTickets): ReadSource {
    const share = this.#share;
    const partial = share.partial?.(request.name);
    const indexed = share.lookup(request.name);
    if (partial && partial.sha256 === request.sha256 && indexed?.sha256 !== request.sha256) {
      if (!tickets.allows(partial.id)) {
        throw new Refusal(
          "FORBIDDEN",
          `Cannot read ${request.name}: no ticket for this version was shown on this connection`,
        );
      }
      if (!rangeVerified(partial, request.offset, request.length)) {
        throw new Refusal(
          "NOT_FOUND",
          `Cannot read ${request.name}: this peer has not verified that range yet`,
        );
      }
      return {
        id: partial.id,
        chunkSize: partial.chunkSize,
        size: partial.size,
        readAt: partial.readAt,
      };
    }
    const file = this.#indexed(request, tickets);
    const entry = this.#entry!;
    return {
      id: versionOf(entry),
      chunkSize: entry.chunkSize,
      size: entry.size,
      readAt: (buffer, position) => {
        file.seekSync(position, Deno.SeekMode.Start);
        return file.readSync(buffer);
      },
    };
  }

  #indexed(request: ReadRequest, tickets: ConnectionTickets): Deno.FsFile {
    const share = this.#share;
    const entry = checkRequest(share, request);
    if (!tickets.allows(versionOf(entry))) {
      throw new Refusal(
        "FORBIDDEN",
        `Cannot read ${request.name}: no ticket for this version was shown on this connection`,
      );
    }
    if (this.#file && this.#entry === entry) {
      checkUnchanged(share, entry, this.#file);
      return this.#file;
    }
    this[Symbol.dispose]();
    this.#file = openForRead(share, entry);
    this.#entry = entry;
    return this.#file;
  }

  /** Closes the file kept open. */
  [Symbol.dispose](): void {
    this.#file?.close();
    this.#file = undefined;
    this.#entry = undefined;
  }
}

/** The index entry `request` is for: shared here, of that version, the range inside it. */
function checkRequest(share: ShareView, request: ReadRequest): IndexedFile {
  const entry = share.lookup(request.name);
  if (!entry) throw new Refusal("GONE", `Cannot read ${request.name}: not shared here`);
  if (entry.sha256 !== request.sha256) {
    throw new Refusal("STALE", `Cannot read ${request.name}: this peer shares another version`);
  }
  if (request.offset + request.length > entry.size) {
    throw new Refusal(
      "INVALID",
      `Cannot read ${request.name}: range ends past ${entry.size} bytes`,
    );
  }
  return entry;
}

/** Refuses with `STALE` a file whose size or mtime is no longer the indexed one. */
function checkUnchanged(share: ShareView, entry: IndexedFile, file: Deno.FsFile): void {
  const stat = file.statSync();
  if (stat.size !== entry.size || (stat.mtime?.getTime() ?? 0) !== entry.mtimeMs) {
    share.onStale?.(entry.name);
    throw new Refusal("STALE", `Cannot read ${entry.name}: it changed since it was indexed`);
  }
}

/** Opens an indexed file after resolving its path again: inside the share, and unchanged. */
function openForRead(share: ShareView, entry: IndexedFile): Deno.FsFile {
  let real: string;
  try {
    real = Deno.realPathSync(entry.path);
  } catch {
    share.onStale?.(entry.name);
    throw new Refusal("STALE", `Cannot read ${entry.name}: the file is gone`);
  }
  if (!isInside(share.root, real)) {
    throw new Refusal("FORBIDDEN", `Cannot read ${entry.name}: it resolves outside the share`);
  }
  const file = Deno.openSync(real, { read: true });
  try {
    checkUnchanged(share, entry, file);
  } catch (error) {
    file.close();
    throw error;
  }
  return file;
}
