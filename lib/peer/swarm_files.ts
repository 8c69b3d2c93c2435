/**
 * Files this process serves while it downloads them (partial holders), and the seeding ledger of
 * complete files. A download registers a {@link SwarmFile} whose `have` map grows as chunks are
 * verified; the peer server serves `read` of a range only when every chunk it touches is verified,
 * and answers `have` with that map. Unverified bytes are never sent.
 *
 * Super-seeding: a source that holds the whole file advertises to each downloader only the chunks
 * it has sent least often (and not yet on that connection), so its upload spreads distinct chunks
 * over the swarm and no chunk goes out twice while others have not gone out once; the downloaders
 * trade the rest among themselves. It asks again with `have` when it runs out.
 *
 * @module
 */

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
  readonly #credit = new Map<string, number>();

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
    this.#credit.set(user, (this.#credit.get(user) ?? 0) + bytes);
    if (this.#credit.size > 10_000) this.#credit.delete(this.#credit.keys().next().value!);
  }

  /** Bytes received from `user` by this process's downloads. */
  creditOf(user: string): number {
    return this.#credit.get(user) ?? 0;
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

/** Counts of chunks sent per version, for super-seeding. */
export class SeedLedger {
  readonly #sent = new Map<string, Uint32Array>();

  /** Records that chunk `index` of version `id` (of `chunks` chunks) went out. */
  sent(id: string, chunks: number, index: number): void {
    const counts = this.#counts(id, chunks);
    if (index >= 0 && index < chunks) counts[index]!++;
  }

  /**
   * The chunks to advertise on a connection that was already sent `sentHere`: those not sent
   * there whose count is the lowest among them. `complete` is true when that is every chunk.
   */
  advertise(
    id: string,
    chunks: number,
    sentHere: Uint8Array,
  ): { have: Uint8Array; complete: boolean } {
    const counts = this.#counts(id, chunks);
    let min = Infinity;
    for (let i = 0; i < chunks; i++) if (!sentHere[i] && counts[i]! < min) min = counts[i]!;
    const have = new Uint8Array(chunks);
    let all = true;
    for (let i = 0; i < chunks; i++) {
      if (!sentHere[i] && counts[i] === min) have[i] = 1;
      else all = false;
    }
    return { have, complete: all };
  }

  #counts(id: string, chunks: number): Uint32Array {
    let counts = this.#sent.get(id);
    if (!counts || counts.length !== chunks) {
      counts = new Uint32Array(chunks);
      this.#sent.set(id, counts);
      while (this.#sent.size > 1000) this.#sent.delete(this.#sent.keys().next().value!);
    }
    return counts;
  }
}
