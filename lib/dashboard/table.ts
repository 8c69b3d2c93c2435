/**
 * The table component: rows of any shape laid out by a list of {@link Column}s, each saying its
 * header, whether it holds numbers (right-aligned) and how to render its cell. Where a list may be
 * empty, a sentence can stand in for the table. The dashboard's own tables (their columns) are in
 * `tables.ts`.
 *
 * @module
 */
import { emptyState } from "./components.ts";
import { type AttributeValue, element, type Html, html, type HtmlValue } from "./html.ts";

/** One column of a {@link table}. */
export interface Column<T> {
  /** The header's text. */
  label: string;
  /** Numbers: header and cells get class `n` (right-aligned). */
  numeric?: boolean;
  /** Names each cell (`data-col`), for scripts and tests that look a value up. */
  key?: string;
  /** The cell of a row. */
  cell: (row: T) => HtmlValue;
  /** A whole header cell to use instead of the plain one (e.g. one with a sort link). */
  head?: Html;
}

/** How a {@link table} is marked and what it shows when empty. */
export interface TableOptions<T> {
  /** The table's class. */
  className?: string;
  /** The table's id. */
  id?: string;
  /** A row's attributes, in order (`null`, `undefined` or `false` leaves one out). */
  row?: (row: T) => Readonly<Record<string, AttributeValue>>;
  /** Shown instead of the table when there are no rows; without it, an empty table is drawn. */
  empty?: HtmlValue;
}

/**
 * A table of `rows`, one cell per column.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { table } from "./table.ts";
 * const sizes = table([{ name: "a<b", size: 3 }], [
 *   { label: "Name", cell: (r) => r.name },
 *   { label: "Size", numeric: true, key: "size", cell: (r) => r.size },
 * ], { className: "files", empty: "No file." });
 * assert.equal(
 *   sizes.value,
 *   `<table class="files"><thead><tr><th>Name</th><th class="n">Size</th></tr></thead>` +
 *     `<tbody><tr><td>a&lt;b</td><td class="n" data-col="size">3</td></tr>\n</tbody></table>`,
 * );
 * assert.equal(table([], [], { empty: "No file." }).value, `<p class="empty">No file.</p>`);
 * ```
 */
export function table<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  options: TableOptions<T> = {},
): Html {
  if (rows.length === 0 && options.empty !== undefined) return emptyState(options.empty);
  const numeric = (column: Column<T>) => column.numeric ? "n" : undefined;
  const head = columns.map((column) =>
    column.head ?? element("th", { class: numeric(column) }, column.label)
  );
  const body = rows.map((row) => {
    const cells = columns.map((column) =>
      element("td", { class: numeric(column), "data-col": column.key }, column.cell(row))
    );
    return html`${element("tr", options.row?.(row) ?? {}, cells)}\n`;
  });
  return element(
    "table",
    { class: options.className, id: options.id },
    element("thead", {}, element("tr", {}, head)),
    element("tbody", {}, body),
  );
}
