import assert from "node:assert/strict";
import { colourWanted, paint, stripColour } from "../../lib/cli/colour.ts";
import { formatTable } from "../../lib/cli/format.ts";
import { tableStyle } from "../../lib/cli/table_style.ts";

Deno.test("colourWanted() is on for a terminal and off when piped", () => {
  assert.equal(colourWanted({ isTerminal: true }), true);
  assert.equal(colourWanted({ isTerminal: false }), false);
});

Deno.test("colourWanted() respects NO_COLOR with any non-empty value, and TERM=dumb", () => {
  assert.equal(colourWanted({ isTerminal: true, noColor: "1" }), false);
  assert.equal(colourWanted({ isTerminal: true, noColor: "yes" }), false);
  assert.equal(colourWanted({ isTerminal: true, noColor: "" }), true);
  assert.equal(colourWanted({ isTerminal: true, term: "dumb" }), false);
  assert.equal(colourWanted({ isTerminal: true, term: "xterm-256color" }), true);
});

Deno.test("paint() wraps text in SGR codes only when enabled", () => {
  assert.equal(paint("red", "error:", true), "\x1b[31merror:\x1b[39m");
  assert.equal(paint("green", "yes", true), "\x1b[32myes\x1b[39m");
  assert.equal(paint("red", "error:", false), "error:");
  assert.equal(paint("bold", "", true), "");
});

Deno.test("a coloured table shows the same text and widths as a plain one", () => {
  const rows = [["ann", "yes", "3"], ["bob", "no", "10"]];
  const plain = formatTable(["PEER", "ONLINE", "N"], rows, { right: [2] });
  const coloured = formatTable(["PEER", "ONLINE", "N"], rows, {
    right: [2],
    ...tableStyle(true, [1]),
  });
  assert.notEqual(coloured, plain);
  assert.equal(stripColour(coloured), plain);
  const [header, ann, bob] = coloured.split("\n");
  assert.ok(header!.startsWith("\x1b[1mPEER"), header);
  assert.ok(ann!.includes("\x1b[32myes"), ann);
  assert.ok(bob!.includes("\x1b[31mno"), bob);
});

Deno.test("tableStyle() without colour changes nothing", () => {
  assert.deepEqual(tableStyle(false, [1]), {});
});
