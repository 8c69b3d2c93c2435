/**
 * The live progress line of `get` on a terminal: bytes done, percent, rate, ETA and sources in
 * use, redrawn at most ten times a second on stderr; nothing at all when stderr is not a terminal
 * or with `--quiet`.
 *
 * @module
 */
import { formatBytes, formatRate } from "../common/mod.ts";
import { formatSeconds } from "./format.ts";
import { type SyncWriter, terminalColumns, writeOrDrop } from "./terminal.ts";
import { visible } from "./visible.ts";

/** What the line shows. */
export interface ProgressState {
  /** File being fetched (or "3 files"). */
  label: string;
  /** `verify` while re-checking a `.part`, else `fetch`. */
  phase: "verify" | "fetch";
  /** Bytes done. */
  doneBytes: number;
  /** Bytes in all. */
  totalBytes: number;
  /** Bytes per second, or null while unknown. */
  rate: number | null;
  /** Sources connected. */
  sources: number;
  /** Set while stalled: remaining chunks that no online peer has. Rate and ETA are not shown. */
  stalledChunks?: number;
}

/**
 * Renders one progress line, cut to `width` columns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderProgress } from "./progress.ts";
 * const line = renderProgress({
 *   label: "a.bin", phase: "fetch", doneBytes: 512, totalBytes: 1024, rate: 256, sources: 2,
 * }, 80);
 * assert.equal(line, "a.bin   50%  512 B / 1 KiB  256 B/s  ETA 2.0 s  2 sources");
 * ```
 */
export function renderProgress(state: ProgressState, width: number): string {
  const percent = state.totalBytes === 0
    ? 100
    : Math.floor((state.doneBytes / state.totalBytes) * 100);
  const parts = [
    visible(state.label),
    `${String(percent).padStart(3)}%`,
    `${formatBytes(state.doneBytes)} / ${formatBytes(state.totalBytes)}`,
  ];
  if (state.phase === "verify") {
    parts.push("re-verifying earlier download");
  } else if (state.stalledChunks !== undefined) {
    parts.push(`stalled: no online peer has ${state.stalledChunks} remaining chunks; waiting`);
  } else {
    if (state.rate !== null && state.rate > 0) {
      parts.push(formatRate(state.rate));
      const left = (state.totalBytes - state.doneBytes) / state.rate;
      parts.push(`ETA ${formatSeconds(left)}`);
    }
    parts.push(`${state.sources} source${state.sources === 1 ? "" : "s"}`);
  }
  const line = parts.join("  ");
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}

/** Where a {@link ProgressLine} draws, and its clock. */
export interface ProgressLineOptions {
  /** No line at all. */
  quiet?: boolean;
  /** The terminal stream (default stderr). */
  stream?: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  /** Milliseconds now (default `performance.now`). */
  now?: () => number;
  /** Columns (default the terminal's). */
  columns?: number;
}

/**
 * A live line on a terminal stream; inert when the stream is not a terminal. Rate and ETA count
 * only bytes fetched in this run: bytes re-verified from an earlier run's `.part` are not
 * throughput.
 */
export class ProgressLine {
  readonly #stream: SyncWriter & { isTerminal(): boolean };
  readonly #enabled: boolean;
  readonly #now: () => number;
  readonly #columns: number | undefined;
  readonly #samples: Array<[number, number]> = [];
  #lastDraw = -Infinity; // the first update always draws
  #drawn = false;

  /** Draws on `stream` (default stderr) unless `quiet` or it is not a terminal. */
  constructor(options: ProgressLineOptions = {}) {
    this.#stream = options.stream ?? Deno.stderr;
    this.#enabled = !options.quiet && this.#stream.isTerminal();
    this.#now = options.now ?? (() => performance.now());
    this.#columns = options.columns;
  }

  /** Whether anything is drawn. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Updates the line (redrawn at most every 100 ms unless `force`). */
  update(state: Omit<ProgressState, "rate">, force = false): void {
    if (!this.#enabled) return;
    const now = this.#now();
    // Re-verified bytes are not fetched, and a stall is no throughput: the rate window starts
    // again once fetching does.
    if (state.phase === "verify" || state.stalledChunks !== undefined) this.#samples.length = 0;
    else this.#samples.push([now, state.doneBytes]);
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > 3000) this.#samples.shift();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const [t0, b0] = this.#samples[0] ?? [now, state.doneBytes];
    const rate = now - t0 > 200 ? ((state.doneBytes - b0) / (now - t0)) * 1000 : null;
    const width = this.#columns ?? terminalColumns();
    this.#write(`\r${renderProgress({ ...state, rate }, width - 1)}\x1b[K`);
    this.#drawn = true;
  }

  /** Clears the line so ordinary output can follow. */
  clear(): void {
    if (!this.#enabled || !this.#drawn) return;
    this.#write("\r\x1b[K");
    this.#drawn = false;
    this.#samples.length = 0;
  }

  /** Prints a line above the progress line. */
  note(text: string): void {
    if (!this.#enabled) return;
    this.clear();
    this.#write(`${text}\n`);
  }

  #write(text: string): void {
    writeOrDrop(this.#stream, text); // progress is optional
  }
}
