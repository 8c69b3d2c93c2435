/**
 * The one progress line of a `get` of several files at once: bytes done and in all over every
 * file, the sources of the latest update, a label (`a.bin`, or `3/10 files`), and "stalled" only
 * while every file still running is stalled.
 *
 * @module
 */
import type { DownloadProgress } from "../peer/mod.ts";
import type { ProgressState } from "./progress.ts";

/** Adds up the progress of several files fetched side by side into one line's state. */
export class FilesProgress {
  readonly #wanted: readonly string[];
  readonly #done = new Map<string, number>();
  readonly #totals = new Map<string, number>();
  readonly #stalled = new Map<string, number>();
  readonly #running = new Set<string>();
  #finished = 0;
  #sources = 0;

  /** Progress of the files `wanted`. */
  constructor(wanted: readonly string[]) {
    this.#wanted = wanted;
  }

  /** `name` started. */
  started(name: string): void {
    this.#running.add(name);
  }

  /** `name` has `bytes` in all. */
  sized(name: string, bytes: number): void {
    this.#totals.set(name, bytes);
  }

  /** `name` moved on: the state the line shows now. */
  update(name: string, p: DownloadProgress): Omit<ProgressState, "rate"> {
    this.#done.set(name, p.doneBytes);
    this.#sources = p.activeSources;
    if (p.stalledChunks !== undefined) this.#stalled.set(name, p.stalledChunks);
    else this.#stalled.delete(name);
    const stalled = this.#stalled.size > 0 && this.#stalled.size === this.#running.size;
    return {
      label: this.label(),
      phase: p.phase,
      doneBytes: sum(this.#done),
      totalBytes: sum(this.#totals),
      sources: this.#sources,
      // The line is stalled while every file still running is.
      ...(stalled ? { stalledChunks: sum(this.#stalled) } : {}),
    };
  }

  /** `name` ended: downloaded (`bytes` of it), or failed. */
  ended(name: string, bytes?: number): void {
    if (bytes !== undefined) this.#done.set(name, bytes);
    this.#finished++;
    this.#running.delete(name);
    this.#stalled.delete(name);
  }

  /** The file's name when there is one, else how many of them have ended. */
  label(): string {
    return this.#wanted.length === 1
      ? this.#wanted[0]!
      : `${this.#finished}/${this.#wanted.length} files`;
  }
}

function sum(m: Map<string, number>): number {
  return [...m.values()].reduce((a, b) => a + b, 0);
}
