/**
 * The `NAME.part` file of one download: opened (or created) once without following links and set
 * to the file's full length, written at each verified chunk's offset, read back for peers that
 * fetch from this download meanwhile, synced, and renamed into place once the whole file checks
 * out. Every source writes through the one handle kept here.
 *
 * A failure of the file system on this path is a {@link PartFileError}: no other source can help
 * with it, so it ends the download (`source_pool.ts` treats it as fatal), and {@link diskFailure}
 * turns it (or a full disk met anywhere on the way) into the `DISK` {@link PeerError} that names
 * the file and says that the verified chunks are kept.
 *
 * File-system calls here are synchronous where they take microseconds (open, seek, write into the
 * page cache, rename): the async versions wait for Deno's blocking-task pool, measured here at
 * milliseconds per call. Only `fsync` stays asynchronous.
 *
 * @module
 */
import { CodedError } from "../common/mod.ts";
import { isStillAt, openNoFollow } from "./download_folder.ts";
import { PeerError } from "./errors.ts";

/**
 * Reading, writing, syncing or renaming the `.part` file failed; `cause` is the file system's
 * error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PartFileError } from "./part_file.ts";
 * const error = new PartFileError(new Error("No space left on device"));
 * assert.equal(error.code, "DISK");
 * assert.equal(error.message, "Cannot write: No space left on device");
 * ```
 */
export class PartFileError extends CodedError<"DISK"> {
  /** Wraps the file system's error `cause`. */
  constructor(cause: unknown) {
    super("DISK", `Cannot write: ${cause instanceof Error ? cause.message : cause}`, { cause });
  }
}

/**
 * A download's `.part` file, open for reading and writing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PartFile } from "./part_file.ts";
 * const dir = await Deno.makeTempDir();
 * using part = PartFile.open(`${dir}/a.bin.part`, 4, { fresh: true });
 * part.writeAt(new Uint8Array([7, 8]), 2);
 * const back = new Uint8Array(4);
 * assert.equal(part.readAt(back, 0), 4);
 * assert.deepEqual([...back], [0, 0, 7, 8]);
 * part.moveTo(`${dir}/a.bin`, "a.bin");
 * assert.equal((await Deno.stat(`${dir}/a.bin`)).size, 4);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class PartFile implements Disposable {
  /** Where the `.part` lies. */
  readonly path: string;
  readonly #file: Deno.FsFile;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Opens or creates `path` (never through a link) at `size` bytes; `fresh` empties it first, so
   * nothing of an earlier run is kept. Throws a {@link PeerError} for a link at the path and a
   * {@link PartFileError} when the file system fails.
   */
  static open(path: string, size: number, options: { fresh: boolean }): PartFile {
    let file: Deno.FsFile;
    try {
      // Never `truncate` at open: that would act before the handle is checked.
      file = openNoFollow(path, { read: true, write: true, create: true });
    } catch (cause) {
      if (cause instanceof PeerError) throw cause;
      throw new PartFileError(cause);
    }
    try {
      if (options.fresh) file.truncateSync(0);
      file.truncateSync(size);
    } catch (cause) {
      file.close();
      throw new PartFileError(cause);
    }
    return new PartFile(path, file);
  }

  /**
   * Writes a verified chunk at its offset. Synchronous on purpose: a 1 MiB write into the page
   * cache takes ≈ 65 µs this way against ≈ 200 µs through the async op and its thread hop
   * (measured here), and the downloader is CPU-bound.
   */
  writeAt(bytes: Uint8Array, offset: number): void {
    try {
      this.#file.seekSync(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
    } catch (cause) {
      throw new PartFileError(cause);
    }
  }

  /**
   * Reads into `buffer` from `position`: the bytes read, or null at the end. Seek and read are one
   * synchronous step, since sources write through the same handle.
   */
  readAt(buffer: Uint8Array, position: number): number | null {
    this.#file.seekSync(position, Deno.SeekMode.Start);
    return this.#file.readSync(buffer);
  }

  /** Flushes the written bytes to the disk (async: it may take a while, other work goes on). */
  async sync(): Promise<void> {
    try {
      await this.#file.syncData();
    } catch (cause) {
      throw new PartFileError(cause);
    }
  }

  /**
   * Renames the `.part` to `target`, after checking that the file at its path is still the one
   * opened here (a `PATH_ESCAPE` {@link PeerError} if it was replaced; `name` is for the message).
   */
  moveTo(target: string, name: string): void {
    if (!isStillAt(this.#file, this.path)) {
      throw new PeerError(
        "PATH_ESCAPE",
        `Cannot save ${name}: ${this.path} was replaced during the download`,
      );
    }
    try {
      Deno.renameSync(this.path, target);
    } catch (cause) {
      throw new PartFileError(cause);
    }
  }

  /** Closes the handle. */
  [Symbol.dispose](): void {
    this.#file.close();
  }
}

/**
 * The `DISK` {@link PeerError} a download of `name` ends with when `error` is the disk's doing: a
 * {@link PartFileError}, or a full disk met anywhere (writing the state file, say); undefined for
 * any other error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diskFailure, PartFileError } from "./part_file.ts";
 * const full = new PartFileError(new Error("No space left on device (os error 28)"));
 * assert.match(diskFailure(full, "a.bin", "out/a.bin.part")!.message, /the disk is full/);
 * assert.equal(diskFailure(new Error("closed"), "a.bin", "out/a.bin.part"), undefined);
 * ```
 */
export function diskFailure(error: unknown, name: string, partPath: string): PeerError | undefined {
  const cause = error instanceof PartFileError ? error.cause : error;
  if (!isDiskFull(cause) && !(error instanceof PartFileError)) return undefined;
  const why = isDiskFull(cause)
    ? "the disk is full"
    : error instanceof Error
    ? error.message
    : String(error);
  return new PeerError(
    "DISK",
    `Cannot save ${name}: ${why}; verified chunks are kept in ${partPath} for the next run`,
    { cause: error },
  );
}

function isDiskFull(error: unknown): boolean {
  return (error as { code?: string })?.code === "ENOSPC" ||
    (error instanceof Error && /no space left/i.test(error.message));
}
