/**
 * Files this process serves while it downloads them (partial holders). A download registers a
 * {@link SwarmFile} whose `have` map grows as chunks are verified; the peer server serves `read`
 * of a range only when every chunk it touches is verified (`share_reader.ts`), and answers `have`
 * with that map (`have_replies.ts`, which also keeps the super-seeding ledger of complete files).
 * Unverified bytes are never sent.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";

/** One file being downloaded (or just finished) that this process serves from what it has. */
export interface SwarmFile {
  /** Name as shared. */
  readonly name: string;
  /** Version (manifest id). */
  readonly id: string;
  /** Whole-file SHA-256. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
  /** Chunk size. */
  readonly chunkSize: number;
  /** One byte per chunk: 1 once verified. */
  readonly have: Uint8Array;
  /** Reads verified bytes at `position` into `buffer`; the count read, or null at the end. */
  readAt(buffer: Uint8Array, position: number): number | null;
}

/**
 * The files this process serves while downloading them, by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SwarmFiles } from "./swarm_files.ts";
 * const files = new SwarmFiles();
 * assert.equal(files.get("a.bin"), undefined);
 * ```
 */
export class SwarmFiles {
  readonly #files = new Map<string, SwarmFile>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Bytes received per user; the least recently credited are forgotten past 10 000 users. */
  readonly #credit = new BoundedMap<string, number>(10_000);

  /** Serves `file` under its name (replacing an earlier one of that name). */
  add(file: SwarmFile): void {
    this.#files.set(file.name, file);
  }

  /** Stops serving `file` (if it is still the one under its name). */
  remove(file: SwarmFile): void {
    if (this.#files.get(file.name) === file) this.#files.delete(file.name);
  }

  /** Wakes those waiting for more chunks of `name` (see {@link SwarmFiles.waitForMore}). */
  changed(name: string): void {
    const waiters = this.#waiters.get(name);
    if (!waiters) return;
    this.#waiters.delete(name);
    for (const wake of waiters) wake();
  }

  /** Resolves at the next {@link SwarmFiles.changed} of `name`, after `ms`, or on abort. */
  waitForMore(name: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(name);
      if (!waiters) this.#waiters.set(name, waiters = new Set());
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      waiters.add(done);
    });
  }

  /** Counts `bytes` received from `user` (what reciprocity in `upload_slots.ts` looks at). */
  credit(user: string, bytes: number): void {
    this.#credit.set(user, (this.#credit.peek(user) ?? 0) + bytes);
  }

  /** Bytes received from `user` by this process's downloads. */
  creditOf(user: string): number {
    return this.#credit.peek(user) ?? 0;
  }

  /** The file served under `name`. */
  get(name: string): SwarmFile | undefined {
    return this.#files.get(name);
  }

  /** Every file served. */
  all(): SwarmFile[] {
    return [...this.#files.values()];
  }
}

/** Whether every chunk touched by `length` bytes at `offset` is verified in `file`. */
export function rangeVerified(file: SwarmFile, offset: number, length: number): boolean {
  if (offset < 0 || length < 0 || offset + length > file.size) return false;
  if (length === 0) return true;
  const first = Math.floor(offset / file.chunkSize);
  const last = Math.floor((offset + length - 1) / file.chunkSize);
  for (let i = first; i <= last; i++) if (!file.have[i]) return false;
  return true;
}
