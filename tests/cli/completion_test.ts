import assert from "node:assert/strict";
import {
  commonPrefix,
  completeLine,
  completionTarget,
  formatChoices,
} from "../../lib/cli/completion.ts";
import { emptyState } from "../../lib/cli/line_editor.ts";
import { PEER_COMMANDS } from "../../lib/cli/peer_command_table.ts";
import { completionSource, shellCommandNames } from "../../lib/cli/shell.ts";

const at = (line: string, cursor = [...line].length) => ({ ...emptyState(), line, cursor });

Deno.test("completionTarget() finds the word at the cursor and the words before it", () => {
  assert.deepEqual(completionTarget("de", 2), { words: [], prefix: "de" });
  assert.deepEqual(completionTarget("get a.txt no", 12), { words: ["get", "a.txt"], prefix: "no" });
  assert.deepEqual(completionTarget("get ", 4), { words: ["get"], prefix: "" });
  assert.deepEqual(completionTarget('get "my f', 9), { words: ["get"], prefix: "my f" });
});

Deno.test("completeLine() inserts a single fit whole, followed by a space", () => {
  const { state, choices } = completeLine(at("get no"), ["notes.txt", "docs/a.md"]);
  assert.equal(state.line, "get notes.txt ");
  assert.equal(state.cursor, 14);
  assert.deepEqual(choices, []);
});

Deno.test("completeLine() quotes a name with a space, and closes an opened quote", () => {
  assert.equal(completeLine(at("get my"), ["my photo.jpg"]).state.line, 'get "my photo.jpg" ');
  assert.equal(completeLine(at('get "my'), ["my photo.jpg"]).state.line, 'get "my photo.jpg" ');
});

Deno.test("completeLine() extends to the common start, then lists the choices", () => {
  const files = ["docs/a.md", "docs/b.md", "notes.txt"];
  const first = completeLine(at("get d"), files);
  assert.equal(first.state.line, "get docs/");
  assert.deepEqual(first.choices, []);
  const second = completeLine(first.state, files);
  assert.equal(second.state, first.state);
  assert.deepEqual(second.choices, ["docs/a.md", "docs/b.md"]);
});

Deno.test("completeLine() keeps the text after the cursor and leaves a line with no fit alone", () => {
  const { state } = completeLine(at("get no --force", 6), ["notes.txt"]);
  assert.equal(state.line, "get notes.txt  --force");
  assert.equal(state.cursor, 14);
  const none = completeLine(at("get zz"), ["notes.txt"]);
  assert.equal(none.state.line, "get zz");
  assert.deepEqual(none.choices, []);
});

Deno.test("commonPrefix() and formatChoices() behave like a shell's listing", () => {
  assert.equal(commonPrefix(["abc", "abd", "ab"]), "ab");
  assert.equal(commonPrefix([]), "");
  assert.equal(formatChoices(["aa", "bb", "cc"], 8), "aa  bb\ncc");
});

Deno.test("the shell completes commands first, files for get/details, users for ping", () => {
  assert.equal(completionSource({ words: [], prefix: "" }, PEER_COMMANDS), "commands");
  assert.equal(completionSource({ words: ["details"], prefix: "a" }, PEER_COMMANDS), "files");
  assert.equal(
    completionSource({ words: ["details", "a.txt"], prefix: "" }, PEER_COMMANDS),
    "none",
  );
  assert.equal(completionSource({ words: ["get", "a", "b"], prefix: "" }, PEER_COMMANDS), "files");
  assert.equal(completionSource({ words: ["ping"], prefix: "b" }, PEER_COMMANDS), "users");
  assert.equal(completionSource({ words: ["help"], prefix: "g" }, PEER_COMMANDS), "commands");
  assert.equal(completionSource({ words: ["list"], prefix: "" }, PEER_COMMANDS), "none");
  const names = shellCommandNames(PEER_COMMANDS);
  assert.ok(names.includes("details") && names.includes("quit") && names.includes("exit"));
  assert.ok(!names.includes("serve"), "serve runs on the command line only");
});
