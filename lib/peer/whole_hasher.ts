/**
 * The whole-file SHA-256 of a download, computed while it runs: a worker follows the verified
 * prefix of the `.part` file (chunks arrive out of order from several sources, but the prefix only
 * grows), so the hash is ready soon after the last chunk. Small files are hashed at the end on the
 * calling thread, where starting a worker would cost more than it saves.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Files at least this large are hashed by a worker. */
export const WORKER_HASH_MIN_BYTES = 16 * 1024 * 1024;

/**
 * Hashes `path` front to back as {@link advance} says more of it is complete.
 *
 * @example
 * ```ts ignore
 * using hasher = new WholeHasher("a.bin.part", size);
 * hasher.advance(1024 * 1024);
 * const digest = await hasher.finish();
 * ```
 */
export class WholeHasher implements Disposable {
  readonly #path: string;
  readonly #size: number;
  #worker: Worker | undefined;
  #sent = 0;
  #result: Promise<string> | undefined;
  /**
   * What the worker ends with: its digest, or its first error. An error while following the
   * prefix (before {@link finish}) is kept, never dropped: the hash it was building is not the
   * file's, so the download fails its check instead of passing by luck of timing.
   */
  #outcome: PromiseWithResolvers<string> | undefined;

  /** Prepares to hash `path`, which will be `size` bytes. */
  constructor(path: string, size: number) {
    this.#path = path;
    this.#size = size;
    if (size >= WORKER_HASH_MIN_BYTES) {
      const worker = new Worker(new URL("./_whole_hash_worker.ts", import.meta.url).href, {
        type: "module",
      });
      const outcome = Promise.withResolvers<string>();
      outcome.promise.catch(() => {}); // seen by finish(), if it is ever called
      worker.onmessage = (event: MessageEvent<{ digest?: string; error?: string }>) => {
        if (event.data.digest) outcome.resolve(event.data.digest);
        else outcome.reject(new Error(`Cannot hash the download: ${event.data.error}`));
      };
      worker.onerror = (event) => {
        event.preventDefault();
        outcome.reject(new Error(`Cannot hash the download: ${event.message}`));
      };
      worker.postMessage({ path, size });
      this.#worker = worker;
      this.#outcome = outcome;
    }
  }

  /**
   * Says the first `bytes` of the file are written and verified. Past the end counts as the end:
   * callers pass the offset of the first chunk not yet verified, which is past `size` once the
   * last chunk (shorter than the others) is in, and the hash must cover exactly `size` bytes.
   */
  advance(bytes: number): void {
    const upTo = Math.min(bytes, this.#size);
    if (this.#worker && upTo > this.#sent) {
      this.#sent = upTo;
      this.#worker.postMessage({ upTo });
    }
  }

  /** Hashes the rest and resolves to the hex digest. */
  finish(): Promise<string> {
    if (this.#result === undefined) {
      if (this.#worker && this.#outcome) {
        this.#worker.postMessage({ finish: this.#size });
        this.#result = this.#outcome.promise;
      } else {
        this.#result = hashWholeFile(this.#path);
      }
    }
    return this.#result;
  }

  /** Stops the worker. */
  [Symbol.dispose](): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}

async function hashWholeFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const buffer = new Uint8Array(Math.max(1, Math.min(1024 * 1024, size)));
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}
