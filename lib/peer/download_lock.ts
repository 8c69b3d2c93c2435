/**
 * One download of a file into a folder at a time: `NAME.part.lock` next to `NAME.part`, held with
 * an exclusive `flock` (`Deno.FsFile.tryLockSync`) for as long as the download runs. A second
 * `get` of the same file into the same folder finds it held and stops before it touches the
 * `.part` or its state.
 *
 * The lock is the kernel's, not a pid in the file: a sandboxed `get` may not look at other
 * processes (no `--allow-run`, no read access to `/proc`), but the kernel drops the lock when its
 * holder dies, even by SIGKILL. A lock file left behind by a dead process is therefore simply
 * taken over. The file holds the holder's pid only so the refusal can name it.
 *
 * @module
 */
import { isStillAt, openNoFollow } from "./download_folder.ts";
import { PeerError } from "./errors.ts";

/** The lock file's path for a `.part` path. */
export function lockPath(partPath: string): string {
  return `${partPath}.lock`;
}

/**
 * The held lock on one `.part`; disposing it removes the lock file and releases the lock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DownloadLock } from "./download_lock.ts";
 * const dir = await Deno.makeTempDir();
 * {
 *   using _lock = DownloadLock.acquire(`${dir}/a.bin.part`, "a.bin");
 *   assert.throws(() => DownloadLock.acquire(`${dir}/a.bin.part`, "a.bin"), /another process/);
 * }
 * using _again = DownloadLock.acquire(`${dir}/a.bin.part`, "a.bin");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class DownloadLock implements Disposable {
  readonly #path: string;
  #file: Deno.FsFile | undefined;

  private constructor(path: string, file: Deno.FsFile) {
    this.#path = path;
    this.#file = file;
  }

  /**
   * Takes the lock for `partPath`, or throws `BUSY` when another download of it holds it (and
   * `PATH_ESCAPE` when the lock file is a link).
   */
  static acquire(partPath: string, name: string): DownloadLock {
    const path = lockPath(partPath);
    // A holder that finishes removes the file and then unlocks it: whoever locked that removed
    // file meanwhile holds nothing, sees that the path no longer names it, and tries again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const file = openNoFollow(path, { read: true, write: true, create: true });
      if (!file.tryLockSync(true)) {
        const pid = readPid(file);
        file.close();
        throw new PeerError(
          "BUSY",
          `Cannot download ${name}: another process${
            pid ? ` (pid ${pid})` : ""
          } is downloading it into the same folder (lock ${path})`,
        );
      }
      if (isStillAt(file, path)) {
        try {
          file.truncateSync(0);
          file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
        } catch {
          // a full disk: the pid is only for messages, the lock itself holds
        }
        return new DownloadLock(path, file);
      }
      file.close();
    }
    throw new PeerError("BUSY", `Cannot download ${name}: the lock ${path} keeps changing`);
  }

  /** Removes the lock file and releases the lock. */
  [Symbol.dispose](): void {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    try {
      if (isStillAt(file, this.#path)) Deno.removeSync(this.#path);
    } catch {
      // already gone
    } finally {
      file.close();
    }
  }
}

function readPid(file: Deno.FsFile): number | undefined {
  try {
    const buffer = new Uint8Array(32);
    file.seekSync(0, Deno.SeekMode.Start);
    const n = file.readSync(buffer) ?? 0;
    const pid = Number(new TextDecoder().decode(buffer.subarray(0, n)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
