/**
 * Which chunk each source fetches next: a pure bookkeeping of chunks missing, in flight (on which
 * sources) and verified. Sources ask for work as their pipelines free up, so a faster source gets
 * more chunks. When nothing unassigned is left (the endgame), an idle source may race a chunk
 * already in flight elsewhere; the first verified copy wins.
 *
 * @module
 */

/**
 * Chunk bookkeeping for one download.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChunkScheduler } from "./chunk_scheduler.ts";
 * const s = new ChunkScheduler(3, [1]);
 * assert.equal(s.take("a"), 0);
 * assert.equal(s.take("b"), 2);
 * assert.equal(s.complete(0, "a").first, true);
 * assert.equal(s.remaining, 1);
 * ```
 */
export class ChunkScheduler {
  /** How many chunks the file has. */
  readonly total: number;
  readonly #done: Uint8Array;
  readonly #inFlight = new Map<number, Set<string>>();
  #doneCount = 0;
  #cursor = 0;
  #prefix = 0;

  /** Starts with the chunks in `verified` already done. */
  constructor(total: number, verified: Iterable<number> = []) {
    this.total = total;
    this.#done = new Uint8Array(total);
    for (const index of verified) {
      if (index >= 0 && index < total && !this.#done[index]) {
        this.#done[index] = 1;
        this.#doneCount++;
      }
    }
    this.#advancePrefix();
  }

  /** Chunks not yet verified. */
  get remaining(): number {
    return this.total - this.#doneCount;
  }

  /** Whether every chunk is verified. */
  get finished(): boolean {
    return this.#doneCount === this.total;
  }

  /** How many leading chunks are all verified. */
  get prefix(): number {
    return this.#prefix;
  }

  /** Whether chunk `index` is verified. */
  isDone(index: number): boolean {
    return this.#done[index] === 1;
  }

  /** Indexes of the verified chunks. */
  verified(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.total; i++) if (this.#done[i]) out.push(i);
    return out;
  }

  /**
   * The next chunk for `source`: the lowest one neither verified nor in flight; failing that (the
   * endgame) one in flight on fewer than `maxCopies` sources and not on this one, fewest copies
   * first. `null` when there is nothing useful to do.
   */
  take(source: string, maxCopies = 2): number | null {
    while (
      this.#cursor < this.total && (this.#done[this.#cursor] || this.#inFlight.has(this.#cursor))
    ) {
      this.#cursor++;
    }
    if (this.#cursor < this.total) {
      const index = this.#cursor;
      this.#inFlight.set(index, new Set([source]));
      this.#cursor++;
      return index;
    }
    let best: number | null = null;
    let bestCopies = Infinity;
    for (const [index, sources] of this.#inFlight) {
      if (sources.has(source) || sources.size >= maxCopies) continue;
      if (sources.size < bestCopies || (sources.size === bestCopies && index < best!)) {
        best = index;
        bestCopies = sources.size;
      }
    }
    if (best !== null) this.#inFlight.get(best)!.add(source);
    return best;
  }

  /**
   * Marks chunk `index` verified by `source`. `first` is false when another copy won already;
   * `others` are the sources still fetching it, whose copies are now wasted.
   */
  complete(index: number, source: string): { first: boolean; others: string[] } {
    const sources = this.#inFlight.get(index);
    sources?.delete(source);
    const others = [...(sources ?? [])];
    this.#inFlight.delete(index);
    if (this.#done[index]) return { first: false, others };
    this.#done[index] = 1;
    this.#doneCount++;
    this.#advancePrefix();
    return { first: true, others };
  }

  /** Gives chunk `index` back from `source` (it failed or gave up). */
  release(index: number, source: string): void {
    const sources = this.#inFlight.get(index);
    if (!sources) return;
    sources.delete(source);
    if (sources.size === 0) {
      this.#inFlight.delete(index);
      if (!this.#done[index] && index < this.#cursor) this.#cursor = index;
    }
  }

  /** Gives back every chunk `source` had in flight; returns their indexes. */
  dropSource(source: string): number[] {
    const dropped: number[] = [];
    for (const [index, sources] of [...this.#inFlight]) {
      if (sources.has(source)) {
        dropped.push(index);
        this.release(index, source);
      }
    }
    return dropped;
  }

  #advancePrefix(): void {
    while (this.#prefix < this.total && this.#done[this.#prefix]) this.#prefix++;
  }
}
