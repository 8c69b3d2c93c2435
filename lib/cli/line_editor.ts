/**
 * The shell's line editor as pure functions: bytes from a raw terminal become {@link Key}s, and
 * each key turns one {@link EditorState} into the next. No terminal is needed to run or test it;
 * `terminal_line_reader.ts` is the thin adapter that reads keys and draws the line.
 *
 * @module
 */

/** A key press the editor understands. */
export type Key = { type: "text"; text: string } | { type: NamedKey };

/** Keys other than typed text. */
export type NamedKey =
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "home"
  | "end"
  | "up"
  | "down"
  | "kill-start"
  | "kill-end"
  | "kill-word"
  | "interrupt"
  | "eof"
  | "clear-screen"
  | "ignored";

/** The line being edited and the history around it. */
export interface EditorState {
  /** The text of the line. */
  readonly line: string;
  /** Cursor position in code points, 0 to the line's length. */
  readonly cursor: number;
  /** Earlier lines, oldest first. */
  readonly history: readonly string[];
  /** Which history entry is shown; `history.length` means the new line. */
  readonly historyIndex: number;
  /** The new line as typed before browsing the history. */
  readonly draft: string;
}

/** What a key asks of the caller besides the new state. */
export type EditorAction = "submit" | "complete" | "cancel" | "eof" | "clear-screen";

/** The result of {@link applyKey}. */
export interface EditResult {
  /** The state after the key. */
  state: EditorState;
  /** Something for the caller to do, if any. */
  action?: EditorAction;
}

/**
 * A fresh, empty line with `history` (oldest first) to browse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyState } from "./line_editor.ts";
 * assert.equal(emptyState(["list"]).historyIndex, 1);
 * ```
 */
export function emptyState(history: readonly string[] = []): EditorState {
  return { line: "", cursor: 0, history, historyIndex: history.length, draft: "" };
}

/** `history` with `line` added at the end, unless it is blank or repeats the last entry. */
export function remember(history: readonly string[], line: string, max = 500): string[] {
  if (line.trim() === "" || history.at(-1) === line) return [...history];
  return [...history, line].slice(-max);
}

const ESCAPES: Record<string, NamedKey> = {
  "[A": "up",
  "[B": "down",
  "[C": "right",
  "[D": "left",
  "[H": "home",
  "[F": "end",
  "OA": "up",
  "OB": "down",
  "OC": "right",
  "OD": "left",
  "OH": "home",
  "OF": "end",
  "[1~": "home",
  "[7~": "home",
  "[4~": "end",
  "[8~": "end",
  "[3~": "delete",
};

const CONTROLS: Record<string, NamedKey> = {
  "\r": "enter",
  "\n": "enter",
  "\t": "tab",
  "\x7f": "backspace",
  "\b": "backspace",
  "\x01": "home", // Ctrl-A
  "\x05": "end", // Ctrl-E
  "\x02": "left", // Ctrl-B
  "\x06": "right", // Ctrl-F
  "\x10": "up", // Ctrl-P
  "\x0e": "down", // Ctrl-N
  "\x15": "kill-start", // Ctrl-U
  "\x0b": "kill-end", // Ctrl-K
  "\x17": "kill-word", // Ctrl-W
  "\x03": "interrupt", // Ctrl-C
  "\x04": "eof", // Ctrl-D
  "\x0c": "clear-screen", // Ctrl-L
};

/**
 * Splits what a raw terminal sent into keys: printable runs, control keys and escape sequences
 * (arrows, Home/End, Delete in their common xterm and VT forms). `\r\n` is one Enter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKeys } from "./line_editor.ts";
 * assert.deepEqual(parseKeys("ab\x1b[D\r"), [
 *   { type: "text", text: "ab" }, { type: "left" }, { type: "enter" },
 * ]);
 * ```
 */
export function parseKeys(input: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < input.length) {
    const char = input[i]!;
    if (char === "\x1b") {
      // CSI: ESC [ params final; SS3: ESC O final.
      const match = /^(\[[0-9;]*[~A-Za-z]|O[A-Za-z])/.exec(input.slice(i + 1));
      if (match) {
        keys.push({ type: ESCAPES[match[1]!] ?? "ignored" });
        i += 1 + match[0].length;
      } else {
        keys.push({ type: "ignored" });
        i += 1;
      }
      continue;
    }
    if (char === "\r" && input[i + 1] === "\n") {
      keys.push({ type: "enter" });
      i += 2;
      continue;
    }
    const control = CONTROLS[char];
    if (control) {
      keys.push({ type: control });
      i += 1;
      continue;
    }
    if (char < " ") {
      keys.push({ type: "ignored" });
      i += 1;
      continue;
    }
    let end = i;
    while (end < input.length && input[end]! >= " " && input[end] !== "\x7f") end++;
    const last = keys.at(-1);
    const text = input.slice(i, end);
    if (last?.type === "text") keys[keys.length - 1] = { type: "text", text: last.text + text };
    else keys.push({ type: "text", text });
    i = end;
  }
  return keys;
}

/**
 * The state after one key, and what the caller should do: `submit` (Enter: the line is
 * `state.line`), `complete` (Tab), `cancel` (Ctrl-C: the line was dropped), `eof` (Ctrl-D on an
 * empty line) or `clear-screen` (Ctrl-L).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyKey, emptyState } from "./line_editor.ts";
 * let { state } = applyKey(emptyState(), { type: "text", text: "lst" });
 * state = applyKey(state, { type: "left" }).state;
 * state = applyKey(state, { type: "left" }).state;
 * state = applyKey(state, { type: "text", text: "i" }).state;
 * assert.equal(state.line, "list");
 * assert.equal(applyKey(state, { type: "enter" }).action, "submit");
 * ```
 */
export function applyKey(state: EditorState, key: Key): EditResult {
  const chars = [...state.line];
  const at = Math.min(state.cursor, chars.length);
  const set = (line: string[], cursor: number): EditResult => ({
    state: { ...state, line: line.join(""), cursor },
  });
  switch (key.type) {
    case "text": {
      const typed = [...key.text];
      return set([...chars.slice(0, at), ...typed, ...chars.slice(at)], at + typed.length);
    }
    case "enter":
      return { state: { ...state, cursor: chars.length }, action: "submit" };
    case "tab":
      return { state, action: "complete" };
    case "backspace":
      return at === 0 ? { state } : set([...chars.slice(0, at - 1), ...chars.slice(at)], at - 1);
    case "delete":
      return at === chars.length
        ? { state }
        : set([...chars.slice(0, at), ...chars.slice(at + 1)], at);
    case "left":
      return { state: { ...state, cursor: Math.max(0, at - 1) } };
    case "right":
      return { state: { ...state, cursor: Math.min(chars.length, at + 1) } };
    case "home":
      return { state: { ...state, cursor: 0 } };
    case "end":
      return { state: { ...state, cursor: chars.length } };
    case "kill-start":
      return set(chars.slice(at), 0);
    case "kill-end":
      return set(chars.slice(0, at), at);
    case "kill-word": {
      let start = at;
      while (start > 0 && chars[start - 1] === " ") start--;
      while (start > 0 && chars[start - 1] !== " ") start--;
      return set([...chars.slice(0, start), ...chars.slice(at)], start);
    }
    case "up":
    case "down": {
      const index = state.historyIndex + (key.type === "up" ? -1 : 1);
      if (index < 0 || index > state.history.length) return { state };
      const draft = state.historyIndex === state.history.length ? state.line : state.draft;
      const line = index === state.history.length ? draft : state.history[index]!;
      return {
        state: { ...state, line, cursor: [...line].length, historyIndex: index, draft },
      };
    }
    case "interrupt":
      return {
        state: { ...state, line: "", cursor: 0, historyIndex: state.history.length, draft: "" },
        action: "cancel",
      };
    case "eof":
      if (chars.length === 0) return { state, action: "eof" };
      return applyKey(state, { type: "delete" });
    case "clear-screen":
      return { state, action: "clear-screen" };
    case "ignored":
      return { state };
  }
}
