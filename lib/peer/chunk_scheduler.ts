/**
 * Which chunk each source fetches next: a pure bookkeeping of chunks missing, in flight (on which
 * sources) and verified. Sources ask for work as their pipelines free up, so a faster source gets
 * more chunks. When nothing unassigned is left (the endgame), an idle source may race a chunk
 * already in flight elsewhere; the first verified copy wins.
 *
 * A source may hold only some chunks (a partial holder, or a seed that super-seeds): its have-map
 * is set with {@link ChunkScheduler.setHave} and it is only handed chunks it has. In `rarest`
 * order (a swarm), the first `RANDOM_FIRST_CHUNKS` chunks are taken at random, so a newcomer soon
 * has something to share, then the chunk held by the fewest connected sources, ties at random
 * among the lowest `TIE_WINDOW` when other downloaders are among the sources (lowest first with
 * seeds alone).
 * In `sequential` order (the default) the lowest chunk a source has goes first, so the whole-file
 * hash can follow the verified prefix.
 *
 * @module
 */

/**
 * Ties are broken at random among the first this many tied chunks (by index), not the whole file:
 * downloaders still pick different chunks, and the verified prefix stays close behind, so the
 * whole-file hash (which follows the prefix on a worker) has little left at the end. At random
 * over the whole file, six downloaders of 96 MiB each spent ≈ 1.5 s hashing after the last chunk.
 */
export const TIE_WINDOW = 16;

/** In `rarest` order, how many chunks are taken at random before rarity counts. */
export const RANDOM_FIRST_CHUNKS = 4;

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
  /** When each chunk in flight was first asked for. */
  readonly #since = new Map<number, number>();
  readonly #order: "sequential" | "rarest";
  readonly #random: () => number;
  /** Have-maps of sources that hold only part of the file; the others hold everything. */
  readonly #haves = new Map<string, Uint8Array>();
  /** Sources that are downloads in progress (other downloaders); with none, ties go low first. */
  readonly #partial = new Set<string>();
  /** Per chunk, how many connected sources with a have-map hold it. */
  readonly #availability: Uint16Array;
  #doneCount = 0;
  #cursor = 0;
  #prefix = 0;

  /** Starts with the chunks in `verified` already done. */
  constructor(
    total: number,
    verified: Iterable<number> = [],
    options: { order?: "sequential" | "rarest"; random?: () => number } = {},
  ) {
    this.total = total;
    this.#order = options.order ?? "sequential";
    this.#random = options.random ?? Math.random;
    this.#availability = new Uint16Array(total);
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

  /** One byte per chunk, 1 once verified: a live view (it changes as chunks are verified). */
  get doneMap(): Uint8Array {
    return this.#done;
  }

  /**
   * Sets what `source` holds: its have-map (one byte per chunk), or `null` for the whole file.
   * Returns whether it holds a chunk this download still needs.
   */
  setHave(source: string, have: Uint8Array | null, partial = false): boolean {
    const old = this.#haves.get(source);
    if (old) { for (let i = 0; i < this.total; i++) if (old[i]) this.#availability[i]!--; }
    this.#partial.delete(source);
    if (have === null) {
      this.#haves.delete(source);
      return !this.finished;
    }
    if (partial) this.#partial.add(source);
    const copy = have.slice(0, this.total);
    this.#haves.set(source, copy);
    let useful = false;
    for (let i = 0; i < this.total; i++) {
      if (!copy[i]) continue;
      this.#availability[i]!++;
      if (!this.#done[i]) useful = true;
    }
    return useful;
  }

  /** Whether a chunk is in flight on other sources that `source` could race later (endgame). */
  raceable(source: string, maxCopies = 2): boolean {
    const have = this.#haves.get(source);
    for (const [index, sources] of this.#inFlight) {
      if (!sources.has(source) && sources.size < maxCopies && (!have || have[index])) return true;
    }
    return false;
  }

  /** How many chunks are in flight on `source` (asked for, not yet delivered). */
  inFlightOn(source: string): number {
    let n = 0;
    for (const sources of this.#inFlight.values()) if (sources.has(source)) n++;
    return n;
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
   * first, and only once it has been in flight for `raceAfterMs` (so a source that started late
   * is not raced for chunks it is about to deliver). `null` when there is nothing to do now.
   */
  take(
    source: string,
    maxCopies = 2,
    options: { raceAfterMs?: number; now?: number } = {},
  ): number | null {
    while (
      this.#cursor < this.total && (this.#done[this.#cursor] || this.#inFlight.has(this.#cursor))
    ) {
      this.#cursor++;
    }
    const have = this.#haves.get(source);
    const fresh = this.#order === "rarest" ? this.#rarest(have) : this.#lowest(have);
    const now = options.now ?? performance.now();
    if (fresh !== null) {
      this.#inFlight.set(fresh, new Set([source]));
      this.#since.set(fresh, now);
      return fresh;
    }
    const raceAfter = options.raceAfterMs ?? 0;
    let best: number | null = null;
    let bestCopies = Infinity;
    for (const [index, sources] of this.#inFlight) {
      if (sources.has(source) || sources.size >= maxCopies) continue;
      if (have && !have[index]) continue;
      if (now - (this.#since.get(index) ?? now) < raceAfter) continue;
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
    this.#since.delete(index);
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
      this.#since.delete(index);
      if (!this.#done[index] && index < this.#cursor) this.#cursor = index;
    }
  }

  /** Gives back every chunk `source` had in flight and forgets its have-map; returns the chunks. */
  dropSource(source: string): number[] {
    if (this.#haves.has(source)) this.setHave(source, null);
    const dropped: number[] = [];
    for (const [index, sources] of [...this.#inFlight]) {
      if (sources.has(source)) {
        dropped.push(index);
        this.release(index, source);
      }
    }
    return dropped;
  }

  /** The lowest chunk neither verified nor in flight that `have` holds. */
  #lowest(have: Uint8Array | undefined): number | null {
    for (let i = this.#cursor; i < this.total; i++) {
      if (!this.#done[i] && !this.#inFlight.has(i) && (!have || have[i])) return i;
    }
    return null;
  }

  /** Random among the first few; then the one held by the fewest sources, ties at random. */
  #rarest(have: Uint8Array | undefined): number | null {
    const randomOnly = this.#doneCount < RANDOM_FIRST_CHUNKS;
    // Ties at random only among other downloaders: with seeds alone, the lowest chunk goes first,
    // so the whole-file hash can follow the verified prefix.
    const randomTies = randomOnly || this.#partial.size > 0;
    let best: number | null = null;
    let bestAvailability = Infinity;
    let ties = 0;
    for (let i = this.#cursor; i < this.total; i++) {
      if (this.#done[i] || this.#inFlight.has(i) || (have && !have[i])) continue;
      // Sources without a have-map hold every chunk: they add the same to each, so leave them out.
      const availability = randomOnly ? 0 : this.#availability[i]!;
      if (availability < bestAvailability) {
        best = i;
        bestAvailability = availability;
        ties = 1;
      } else if (
        availability === bestAvailability && randomTies && ties < TIE_WINDOW &&
        this.#random() * ++ties < 1
      ) {
        best = i;
      }
    }
    return best;
  }

  #advancePrefix(): void {
    while (this.#prefix < this.total && this.#done[this.#prefix]) this.#prefix++;
  }
}
