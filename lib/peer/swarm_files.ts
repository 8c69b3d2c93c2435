/**
 * Files this process serves while it downloads them (partial holders), and the seeding ledger of
 * complete files. A download registers a {@link SwarmFile} whose `have` map grows as chunks are
 * verified; the peer server serves `read` of a range only when every chunk it touches is verified,
 * and answers `have` with that map. Unverified bytes are never sent.
 *
 * Super-seeding: a source that holds the whole file advertises to each downloader only the chunks
 * it has sent least often (and not yet on that connection), so its upload spreads distinct chunks
 * over the swarm and no chunk goes out twice while others have not gone out once; the downloaders
 * trade the rest among themselves. It asks again with `have` when it runs out. Super-seeding never
 * hides the only copies of what a downloader needs: a downloader that asks `have` again on a
 * connection without reading anything since the last answer has none of the advertised chunks to
 * fetch (it holds them, or others are fetching them), so each such ask widens the answer by one
 * count level, up to the whole file ({@link seedHave}). Hiding them is what kept a class's second
 * round at 93 % for ever: the ledger still counted the first round, advertised chunks every
 * downloader already had, and never changed.
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
    widen = 0,
  ): { have: Uint8Array; complete: boolean } {
    const counts = this.#counts(id, chunks);
    let min = Infinity;
    for (let i = 0; i < chunks; i++) if (!sentHere[i] && counts[i]! < min) min = counts[i]!;
    const have = new Uint8Array(chunks);
    let all = true;
    for (let i = 0; i < chunks; i++) {
      if (!sentHere[i] && counts[i]! <= min + widen) have[i] = 1;
      else all = false;
    }
    return { have, complete: all };
  }

  /** How far the counts of not-yet-sent chunks spread above their lowest (0: all equal). */
  spread(id: string, chunks: number, sentHere: Uint8Array): number {
    const counts = this.#counts(id, chunks);
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < chunks; i++) {
      if (sentHere[i]) continue;
      min = Math.min(min, counts[i]!);
      max = Math.max(max, counts[i]!);
    }
    return max >= min ? max - min : 0;
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

/** What super-seeding told one connection about one version (see {@link seedHave}). */
export class SeedView {
  /** One byte per chunk: 1 once sent on this connection. */
  readonly sentHere: Uint8Array;
  /** Whether a `have` was answered on this connection. */
  told = false;
  /** Whether a chunk was sent since the last `have` answer. */
  readSinceTold = false;
  /** How many times in a row the downloader asked again without reading (see {@link seedHave}). */
  parked = 0;

  /** A view of a version of `chunks` chunks. */
  constructor(chunks: number) {
    this.sentHere = new Uint8Array(chunks);
  }

  /** Records that chunk `index` went out on this connection; true the first time. */
  sent(index: number): boolean {
    this.readSinceTold = true;
    if (index < 0 || index >= this.sentHere.length || this.sentHere[index]) return false;
    this.sentHere[index] = 1;
    return true;
  }
}

/**
 * A complete holder's answer to `have` under super-seeding: the least-sent chunks not yet sent on
 * this connection. A downloader that asks again without having read anything since the last answer
 * found none of them of use (it holds them, or others are fetching them): each such ask widens the
 * answer by one count level (the chunks sent least and once more than that, and so on), so the
 * seed still spreads what it sends, and once the levels cover every count the answer is the whole
 * file, chunks sent on this connection before included (one may have been lost to a rotation).
 * So super-seeding never hides the only copies of what a downloader needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SeedLedger, SeedView, seedHave } from "./swarm_files.ts";
 * const ledger = new SeedLedger();
 * ledger.sent("v", 2, 0);
 * const view = new SeedView(2);
 * assert.deepEqual([...seedHave(ledger, "v", view).have], [0, 1]);
 * assert.deepEqual([...seedHave(ledger, "v", view).have], [1, 1]); // asked again, nothing read
 * ```
 */
export function seedHave(
  ledger: SeedLedger,
  id: string,
  view: SeedView,
): { have: Uint8Array; complete: boolean } {
  const chunks = view.sentHere.length;
  view.parked = view.told && !view.readSinceTold ? view.parked + 1 : 0;
  view.told = true;
  view.readSinceTold = false;
  if (view.parked > ledger.spread(id, chunks, view.sentHere)) {
    return { have: new Uint8Array(chunks).fill(1), complete: true };
  }
  return ledger.advertise(id, chunks, view.sentHere, view.parked);
}
