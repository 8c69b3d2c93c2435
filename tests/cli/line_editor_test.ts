import assert from "node:assert/strict";
import {
  applyKey,
  type EditorState,
  emptyState,
  type Key,
  parseKeys,
  remember,
} from "../../lib/cli/line_editor.ts";

/** Feeds raw terminal input through the editor, as the terminal adapter does. */
function type(input: string, state: EditorState = emptyState()) {
  let action: string | undefined;
  for (const key of parseKeys(input)) {
    const result = applyKey(state, key);
    state = result.state;
    action = result.action ?? action;
  }
  return { state, action };
}

Deno.test("parseKeys() reads arrows, Home/End and Delete in xterm and VT forms", () => {
  const types = (input: string) => parseKeys(input).map((k: Key) => k.type);
  assert.deepEqual(types("\x1b[A\x1b[B\x1b[C\x1b[D"), ["up", "down", "right", "left"]);
  assert.deepEqual(types("\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~"), [
    "home",
    "end",
    "home",
    "end",
    "home",
    "end",
  ]);
  assert.deepEqual(types("\x1b[3~\x7f\x08"), ["delete", "backspace", "backspace"]);
  assert.deepEqual(types("\r\n"), ["enter"]);
  assert.deepEqual(types("\x1b[1;5C"), ["ignored"]);
});

Deno.test("parseKeys() keeps a run of typed text, unicode included, as one key", () => {
  assert.deepEqual(parseKeys("get café.txt\t"), [{ type: "text", text: "get café.txt" }, {
    type: "tab",
  }]);
});

Deno.test("typing inserts at the cursor; left/right, Home/End move it", () => {
  const { state } = type("ist\x1b[H" + "l" + "\x1b[F" + "!" + "\x1b[D\x1b[D" + "_");
  assert.equal(state.line, "lis_t!");
  assert.equal(state.cursor, 4);
});

Deno.test("backspace deletes before the cursor and Delete under it; both stop at the ends", () => {
  assert.equal(type("abc\x7f").state.line, "ab");
  assert.equal(type("abc\x1b[H\x1b[3~").state.line, "bc");
  assert.equal(type("\x7f\x7f").state.line, "");
  assert.equal(type("ab\x1b[3~").state.line, "ab");
});

Deno.test("Ctrl-A/E move to the ends; Ctrl-U/K kill before/after the cursor; Ctrl-W a word", () => {
  assert.equal(type("bc\x01a").state.line, "abc");
  assert.equal(type("ab\x01\x05c").state.line, "abc");
  assert.equal(type("get notes\x1b[D\x1b[D\x15").state.line, "es");
  assert.equal(type("get notes\x01\x1b[C\x1b[C\x1b[C\x0b").state.line, "get");
  const word = type("get a.txt  \x17");
  assert.equal(word.state.line, "get ");
  assert.equal(word.state.cursor, 4);
});

Deno.test("cursor moves count code points, so accented and emoji names edit whole", () => {
  const { state } = type("a😀b\x1b[D\x7f");
  assert.equal(state.line, "ab");
  assert.equal(state.cursor, 1);
});

Deno.test("Up and Down browse history and bring the unfinished line back", () => {
  const history = ["list", "details a.txt"];
  let { state } = type("pi", emptyState(history));
  state = type("\x1b[A", state).state;
  assert.equal(state.line, "details a.txt");
  assert.equal(state.cursor, 13);
  state = type("\x1b[A\x1b[A", state).state;
  assert.equal(state.line, "list", "stops at the oldest entry");
  state = type("\x1b[B\x1b[B", state).state;
  assert.equal(state.line, "pi");
  state = type("\x1b[B", state).state;
  assert.equal(state.line, "pi", "stops at the new line");
});

Deno.test("Enter submits the line, Tab asks to complete, Ctrl-L to clear the screen", () => {
  assert.deepEqual(type("list\r"), {
    state: { ...emptyState(), line: "list", cursor: 4 },
    action: "submit",
  });
  assert.equal(type("li\t").action, "complete");
  assert.equal(type("\x0c").action, "clear-screen");
});

Deno.test("Ctrl-C drops the line and leaves history browsing", () => {
  const { state, action } = type("\x1b[Aabc\x03", emptyState(["list"]));
  assert.equal(action, "cancel");
  assert.equal(state.line, "");
  assert.equal(state.historyIndex, 1);
});

Deno.test("Ctrl-D ends input on an empty line and deletes under the cursor otherwise", () => {
  assert.equal(type("\x04").action, "eof");
  const { state, action } = type("ab\x01\x04");
  assert.equal(action, undefined);
  assert.equal(state.line, "b");
});

Deno.test("remember() skips blank lines and immediate repeats and keeps the newest", () => {
  assert.deepEqual(remember(["list"], "list"), ["list"]);
  assert.deepEqual(remember(["list"], "   "), ["list"]);
  assert.deepEqual(remember(["a", "b"], "c", 2), ["b", "c"]);
});
