/**
 * How the peer commands' tables look on a terminal: bold headers, `yes` in green and `no` in red
 * in the columns that hold a yes/no answer; plain without colour.
 *
 * @module
 */
import { paint } from "./colour.ts";
import type { TableOptions } from "./format.ts";

/**
 * Table styling for human output: bold headers; `yes`/`no` in green/red in the columns listed in
 * `flags`; nothing at all without colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableStyle } from "./table_style.ts";
 * assert.deepEqual(tableStyle(false), {});
 * ```
 */
export function tableStyle(colour: boolean, flags: number[] = []): TableOptions {
  if (!colour) return {};
  return {
    header: (text) => paint("bold", text, true),
    cell: (padded, value, column) =>
      flags.includes(column) && (value === "yes" || value === "no")
        ? paint(value === "yes" ? "green" : "red", padded, true)
        : padded,
  };
}
