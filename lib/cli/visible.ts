/**
 * Text from another party made safe for a terminal. File names, user names, hosts, agents and
 * error messages come from the tracker or from other peers; printed raw, an escape sequence in
 * one could clear the screen, retitle the window, fake a line of output or hide text. Every human
 * output path of the command line and the shell passes such text through {@link visible}; JSON
 * output goes through {@link visibleJson}, which stays exact JSON.
 *
 * @module
 */

/**
 * What `JSON.stringify` leaves raw but a terminal may act on, or that reorders text rather than
 * shows it: DEL, the C1 controls, the bidirectional formatting marks, and the Unicode line and
 * paragraph separators.
 */
const MARKS = "\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069";

/** {@link MARKS} and the C0 controls. */
const HIDDEN = new RegExp(`[\\u0000-\\u001f${MARKS}]`, "g");

/** {@link HIDDEN} but the newline. */
const HIDDEN_BUT_NEWLINE = new RegExp(`[\\u0000-\\u0009\\u000b-\\u001f${MARKS}]`, "g");

/** {@link MARKS} alone. */
const HIDDEN_IN_JSON = new RegExp(`[${MARKS}]`, "g");

const NAMED: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function escape(char: string): string {
  const code = char.charCodeAt(0);
  return NAMED[char] ??
    (code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`);
}

/** Options of {@link visible}. */
export interface VisibleOptions {
  /** Keep newlines as they are (for multi-line text of our own, such as a log's stack trace). */
  newlines?: boolean;
}

/**
 * `text` with every control character written out as a JavaScript-style escape: tab, newline and
 * carriage return as `\t`, `\n`, `\r`, the other C0 and C1 controls and DEL as `\xHH`, and the
 * bidirectional marks and line separators as `\uHHHH`. Everything else, backslashes included, is
 * left as it is: the result is for reading, not for parsing back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visible } from "./visible.ts";
 * assert.equal(visible("a\u001b[2Jb"), "a\\x1b[2Jb");
 * assert.equal(visible("evil\u202eexe.txt"), "evil\\u202eexe.txt");
 * assert.equal(visible("plain café.txt"), "plain café.txt");
 * ```
 */
export function visible(text: string, options: VisibleOptions = {}): string {
  return text.replace(options.newlines ? HIDDEN_BUT_NEWLINE : HIDDEN, escape);
}

/**
 * JSON text with the characters `JSON.stringify` leaves raw but a terminal may act on (DEL, C1
 * controls, bidirectional marks, line separators) written as `\uHHHH` escapes. `JSON.parse` gives
 * back exactly the same value; C0 controls are escaped by `JSON.stringify` already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visibleJson } from "./visible.ts";
 * const text = visibleJson(JSON.stringify({ name: "a\u009bb" }));
 * assert.equal(text, '{"name":"a\\u009bb"}');
 * assert.deepEqual(JSON.parse(text), { name: "a\u009bb" });
 * ```
 */
export function visibleJson(json: string): string {
  // Outside strings JSON text is ASCII, so every match is inside a string, where \u is valid.
  return json.replace(HIDDEN_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
