/**
 * Colour for human output: on when the stream is a terminal, `NO_COLOR` is unset (or empty) and
 * `TERM` is not `dumb`; off when piped. `styleText` from `node:util` does the same checks in Deno
 * 2.9 on its own, but only against a stream; here the decision is one flag, made once per stream
 * at the edge, so formatting stays a pure function of its input and is testable without a
 * terminal.
 *
 * @module
 */
import { styleText } from "node:util";

/** The styles human output uses. */
export type Style = "bold" | "dim" | "red" | "green" | "yellow" | "cyan";

/**
 * `text` in `style` when `enabled`, else `text` unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paint } from "./colour.ts";
 * assert.equal(paint("bold", "NAME", true), "\x1b[1mNAME\x1b[22m");
 * assert.equal(paint("bold", "NAME", false), "NAME");
 * ```
 */
export function paint(style: Style, text: string, enabled: boolean): string {
  if (!enabled || text === "") return text;
  return styleText(style, text, { validateStream: false });
}

/** What {@link colourWanted} looks at. */
export interface ColourSignals {
  /** Whether the output stream is a terminal. */
  isTerminal: boolean;
  /** The `NO_COLOR` environment variable (any non-empty value turns colour off). */
  noColor?: string | undefined;
  /** The `TERM` environment variable (`dumb` turns colour off). */
  term?: string | undefined;
}

/**
 * Whether to colour output, from the stream and the environment (see https://no-color.org).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colourWanted } from "./colour.ts";
 * assert.equal(colourWanted({ isTerminal: true }), true);
 * assert.equal(colourWanted({ isTerminal: true, noColor: "1" }), false);
 * assert.equal(colourWanted({ isTerminal: false }), false);
 * ```
 */
export function colourWanted(signals: ColourSignals): boolean {
  if (!signals.isTerminal) return false;
  if (signals.noColor !== undefined && signals.noColor !== "") return false;
  return signals.term !== "dumb";
}

/** Whether to colour what goes to `stream` (default stdout) in this process. */
export function colourFor(stream: { isTerminal(): boolean } = Deno.stdout): boolean {
  let isTerminal = false;
  try {
    isTerminal = stream.isTerminal();
  } catch {
    // not a terminal then
  }
  let noColor: string | undefined;
  let term: string | undefined;
  try {
    noColor = Deno.env.get("NO_COLOR");
    term = Deno.env.get("TERM");
  } catch {
    // no env permission: the defaults stand
  }
  return colourWanted({ isTerminal, noColor, term });
}

/**
 * Removes colour escape sequences, e.g. to measure how wide a painted string shows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripColour } from "./colour.ts";
 * assert.equal(stripColour("\x1b[32myes\x1b[39m"), "yes");
 * ```
 */
export function stripColour(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}
