/**
 * Human output: sizes, durations and aligned tables. Pure functions of their input.
 *
 * @module
 */

/**
 * A byte count in binary units with three significant digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./format.ts";
 * assert.ok(formatBytes(1536) === "1.50 KiB");
 * assert.ok(formatBytes(12) === "12 B");
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(bytes)} B`;
  return `${value.toPrecision(3)} ${units[unit]}`;
}

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

/**
 * Rows aligned in columns under a header; columns listed in `right` are right-aligned.
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
  options: { right?: number[] } = {},
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => {
      const width = widths[i] ?? 0;
      if (options.right?.includes(i)) return cell.padStart(width);
      return i === cells.length - 1 ? cell : cell.padEnd(width);
    }).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
