/**
 * Tab completion for the shell, as pure functions: which word the cursor is in, and the line
 * after completing it from a list of candidates. Where candidates come from (command names, file
 * names from the tracker, user names) is the shell's business.
 *
 * @module
 */
import type { EditorState } from "./line_editor.ts";

/** The word being completed. */
export interface CompletionTarget {
  /** Words before it (the first is the command); empty when completing the command. */
  words: string[];
  /** What is typed of it so far, without an opening quote. */
  prefix: string;
}

/**
 * The word the cursor ends, and the words before it. A word that starts with `"` may hold spaces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completionTarget } from "./completion.ts";
 * assert.deepEqual(completionTarget('get "my fi', 10), { words: ["get"], prefix: "my fi" });
 * ```
 */
export function completionTarget(line: string, cursor: number): CompletionTarget {
  const before = [...line].slice(0, cursor).join("");
  const { start, quoted } = wordStart(before);
  return {
    words: splitWords(before.slice(0, start)),
    prefix: before.slice(quoted ? start + 1 : start),
  };
}

/** The result of {@link completeLine}. */
export interface Completion {
  /** The state with the word completed as far as the candidates agree. */
  state: EditorState;
  /** Candidates to show when the word could not be completed further (more than one fits). */
  choices: string[];
}

/**
 * Completes the word at the cursor from `candidates`: one fit is inserted whole, followed by a
 * space (quoted if it holds a space); several are completed to their longest common start, and
 * listed in `choices` when that adds nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeLine } from "./completion.ts";
 * import { emptyState } from "./line_editor.ts";
 * const state = { ...emptyState(), line: "get no", cursor: 6 };
 * assert.equal(completeLine(state, ["notes.txt", "docs/a.md"]).state.line, "get notes.txt ");
 * ```
 */
export function completeLine(state: EditorState, candidates: readonly string[]): Completion {
  const chars = [...state.line];
  const before = chars.slice(0, state.cursor).join("");
  const after = chars.slice(state.cursor).join("");
  const { start, quoted } = wordStart(before);
  const prefix = before.slice(quoted ? start + 1 : start);
  const fits = [...new Set(candidates.filter((c) => c.startsWith(prefix)))].sort();
  if (fits.length === 0) return { state, choices: [] };
  const replace = (word: string, whole: boolean): EditorState => {
    const needsQuote = quoted || word.includes(" ");
    const text = needsQuote ? `"${word}${whole ? '" ' : ""}` : `${word}${whole ? " " : ""}`;
    const head = before.slice(0, start) + text;
    return { ...state, line: head + after, cursor: [...head].length };
  };
  if (fits.length === 1) return { state: replace(fits[0]!, true), choices: [] };
  const common = commonPrefix(fits);
  if (common.length > prefix.length) return { state: replace(common, false), choices: [] };
  return { state, choices: fits };
}

/**
 * The longest start all `words` share.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commonPrefix } from "./completion.ts";
 * assert.equal(commonPrefix(["docs/a.md", "docs/b.md"]), "docs/");
 * ```
 */
export function commonPrefix(words: readonly string[]): string {
  if (words.length === 0) return "";
  let prefix = words[0]!;
  for (const word of words.slice(1)) {
    while (!word.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}

/**
 * Lays out `choices` in columns no wider than `width`, like a shell does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatChoices } from "./completion.ts";
 * assert.equal(formatChoices(["a.txt", "b.txt", "c.txt"], 20), "a.txt  b.txt  c.txt");
 * ```
 */
export function formatChoices(choices: readonly string[], width: number): string {
  const cell = Math.max(...choices.map((c) => c.length)) + 2;
  const perLine = Math.max(1, Math.floor((width + 2) / cell));
  const lines: string[] = [];
  for (let i = 0; i < choices.length; i += perLine) {
    lines.push(choices.slice(i, i + perLine).map((c) => c.padEnd(cell)).join("").trimEnd());
  }
  return lines.join("\n");
}

/** Where the word before the cursor starts (at its opening quote, if it has one). */
function wordStart(before: string): { start: number; quoted: boolean } {
  const quotes = [...before].filter((c) => c === '"').length;
  if (quotes % 2 === 1) return { start: before.lastIndexOf('"'), quoted: true };
  return { start: before.lastIndexOf(" ") + 1, quoted: false };
}

/**
 * Splits a command line into words; double quotes group words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitWords } from "./completion.ts";
 * assert.ok(splitWords('get "my file.txt"')[1] === "my file.txt");
 * ```
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|(\S+)/g)) words.push(match[1] ?? match[2] ?? "");
  return words;
}
