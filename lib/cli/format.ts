/**
 * Human output: durations, chunkings, shares and aligned tables. Pure functions of their input.
 * Sizes, counts and rates come from `lib/common/units.ts` (re-exported here), so the command line
 * writes them as the dashboard does.
 *
 * @module
 */
import { formatBytes } from "../common/mod.ts";
import { visible } from "./visible.ts";

/** Sizes, counts and rates are written one way everywhere: see `lib/common/units.ts`. */
export { formatBytes, formatCount, formatRate } from "../common/mod.ts";

/**
 * A duration in seconds, e.g. `850 ms`, `2.4 s`, `3 min 5 s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSeconds } from "./format.ts";
 * assert.ok(formatSeconds(0.85) === "850 ms");
 * assert.ok(formatSeconds(185) === "3 min 5 s");
 * ```
 */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** How {@link formatTable} lays out and styles a table. */
export interface TableOptions {
  /** Columns to right-align. */
  right?: number[];
  /** Styles the header's cells (after padding, so colour codes never upset the widths). */
  header?: (text: string) => string;
  /** Styles a body cell (after padding); `value` is the cell's text without padding. */
  cell?: (padded: string, value: string, column: number) => string;
}

/**
 * Rows aligned in columns under a header; columns listed in `right` are right-aligned; `header`
 * and `cell` may style the padded cells (e.g. with colour). Control characters in cells are
 * written out ({@link visible}), so a cell cannot move the cursor or break the layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTable } from "./format.ts";
 * const text = formatTable(["NAME", "SIZE"], [["a.txt", "1 B"]], { right: [1] });
 * assert.ok(text.split("\n")[1] === "a.txt   1 B");
 * ```
 */
export function formatTable(
  header: string[],
  rows: string[][],
  options: TableOptions = {},
): string {
  header = header.map((text) => visible(text));
  rows = rows.map((row) => row.map((text) => visible(text)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[], style: (padded: string, value: string, i: number) => string) => {
    // Trailing blanks are trimmed before styling, so styled and plain lines end alike.
    let last = cells.length - 1;
    while (last > 0 && cells[last] === "" && !options.right?.includes(last)) last--;
    return cells.slice(0, last + 1).map((cell, i) => {
      const width = widths[i] ?? 0;
      const padded = options.right?.includes(i)
        ? cell.padStart(width)
        : i === last
        ? cell
        : cell.padEnd(width);
      return style(padded, cell, i);
    }).join("  ").trimEnd();
  };
  const headerStyle = options.header ?? ((padded: string) => padded);
  const cellStyle = options.cell ?? ((padded: string) => padded);
  return [
    line(header, (padded) => headerStyle(padded)),
    ...rows.map((row) => line(row, cellStyle)),
  ].join("\n");
}

/**
 * A file's chunks: `1 (12 B)` for a file that fits in one, `N × SIZE` otherwise, with the last
 * chunk's size when it is shorter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatChunks } from "./format.ts";
 * assert.equal(formatChunks(12, 1048576, 1), "1 (12 B)");
 * assert.equal(formatChunks(3 * 1048576, 1048576, 3), "3 × 1 MiB");
 * assert.equal(formatChunks(2621440, 1048576, 3), "3 × 1 MiB (last 512 KiB)");
 * ```
 */
export function formatChunks(size: number, chunkSize: number, chunks: number): string {
  if (chunks <= 1) return `${chunks} (${formatBytes(size)})`;
  const last = size - (chunks - 1) * chunkSize;
  return `${chunks} × ${formatBytes(chunkSize)}${
    last > 0 && last < chunkSize ? ` (last ${formatBytes(last)})` : ""
  }`;
}

/**
 * Whole percentages of `parts` that add up to 100 (largest remainders get the rounding), or all
 * zeros when the parts are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { percentages } from "./format.ts";
 * assert.deepEqual(percentages([1, 1, 1]), [34, 33, 33]);
 * assert.deepEqual(percentages([5, 0]), [100, 0]);
 * ```
 */
export function percentages(parts: readonly number[]): number[] {
  const total = parts.reduce((a, b) => a + b, 0);
  if (total <= 0) return parts.map(() => 0);
  const exact = parts.map((p) => (p / total) * 100);
  const result = exact.map(Math.floor);
  let left = 100 - result.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    result[i]!++;
    left--;
  }
  return result;
}
