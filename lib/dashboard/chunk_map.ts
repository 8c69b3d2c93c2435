/**
 * A file version's chunk map: one square per chunk, coloured by how many online sources hold it,
 * with the legend that says what the colours mean. Inline SVG with no script and no style
 * attributes, so a strict content security policy allows it.
 *
 * @module
 */
import { element, type Html, html } from "./html.ts";

/**
 * One square per chunk, coloured by how many online sources hold it (grey: none); squares get
 * smaller for files with many chunks.
 */
export function chunkMap(counts: readonly number[]): Html {
  const columns = 64;
  const cell = counts.length > 2048 ? 4 : counts.length > 512 ? 7 : counts.length > 64 ? 12 : 22;
  const rows = Math.max(1, Math.ceil(counts.length / columns));
  const width = Math.min(counts.length, columns) * cell;
  const height = rows * cell;
  const cells = counts.map((n, i) =>
    element(
      "rect",
      {
        x: (i % columns) * cell,
        y: Math.floor(i / columns) * cell,
        width: cell - 1,
        height: cell - 1,
        fill: shade(n),
      },
      element("title", {}, `chunk ${i}: ${n} online source${n === 1 ? "" : "s"}`),
    )
  );
  const size = { viewBox: `0 0 ${width} ${height}`, width, height };
  return element(
    "svg",
    { class: "chunkmap", ...size, role: "img", "aria-label": `${counts.length} chunks` },
    cells,
  );
}

const SHADES = ["#dee2e6", "#b2f2bb", "#69db7c", "#37b24d", "#2b8a3e"];

/** Grey for no source, then darker greens for more sources (4 and up look the same). */
function shade(sources: number): string {
  return SHADES[Math.min(4, sources)]!;
}

/**
 * What the chunk map's colours mean: a swatch for no source, 1, 2, 3 and 4 or more, and what a
 * source is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chunkMapLegend } from "./chunk_map.ts";
 * assert.match(chunkMapLegend().value, /no online source/);
 * ```
 */
export function chunkMapLegend(): Html {
  const labels = ["no online source", "1 source", "2", "3", "4 or more"];
  const items = labels.map((label, i) => {
    const swatch = element(
      "svg",
      { class: "swatch", width: 12, height: 12, viewBox: "0 0 12 12", "aria-hidden": "true" },
      element("rect", { width: 12, height: 12, fill: SHADES[i] }),
    );
    return element("li", {}, swatch, ` ${label}`);
  });
  const hint =
    "a source is an online holder of the whole file, or a download that has verified the chunk";
  return element(
    "ul",
    { class: "legend", "aria-label": "Chunk map legend" },
    items,
    element("li", { class: "hint" }, hint),
  );
}

/**
 * The chunk map with its heading and legend, as a file's page shows it for each version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chunkMapFigure } from "./chunk_map.ts";
 * const figure = chunkMapFigure([1, 0]).value;
 * assert.match(figure, /<h3>Chunk map<\/h3>/);
 * assert.match(figure, /aria-label="2 chunks"/);
 * assert.match(figure, /Chunk map legend/);
 * ```
 */
export function chunkMapFigure(counts: readonly number[]): Html {
  return html`<h3>Chunk map</h3>${chunkMap(counts)}${chunkMapLegend()}`;
}
