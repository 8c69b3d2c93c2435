import assert from "node:assert/strict";
import fc from "fast-check";
import { CliError } from "../../lib/cli/cli_error.ts";
import { formatTable } from "../../lib/cli/format.ts";
import { describeError } from "../../lib/cli/describe_error.ts";
import { renderProgress } from "../../lib/cli/progress.ts";
import { formatStatus } from "../../lib/cli/status.ts";
import { visible, visibleJson } from "../../lib/cli/visible.ts";
import { PeerError } from "../../lib/peer/mod.ts";
import { RemoteError } from "../../lib/protocol/mod.ts";

/** Every character a terminal acts on or that reorders text. */
// deno-lint-ignore no-control-regex
const HIDDEN = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]",
);

Deno.test("visible() writes out ESC sequences, so they cannot reach the terminal", () => {
  assert.equal(visible("\u001b[2J\u001b[H"), "\\x1b[2J\\x1b[H");
  assert.equal(visible("\u001b]0;owned\u0007"), "\\x1b]0;owned\\x07");
  assert.equal(visible("bell\u0007"), "bell\\x07");
  assert.equal(visible("nul\u0000"), "nul\\x00");
});

Deno.test("visible() writes out tab, newline and carriage return by name", () => {
  assert.equal(visible("a\tb\nc\rd"), "a\\tb\\nc\\rd");
});

Deno.test("visible() writes out DEL and the C1 controls (8-bit CSI included)", () => {
  assert.equal(visible("a\u007fb"), "a\\x7fb");
  assert.equal(visible("\u009b31m"), "\\x9b31m");
  assert.equal(visible("\u0080\u009f"), "\\x80\\x9f");
});

Deno.test("visible() writes out bidirectional marks and line separators", () => {
  assert.equal(visible("photo\u202egpj.exe"), "photo\\u202egpj.exe");
  assert.equal(visible("\u2066\u2069\u200e\u200f\u061c"), "\\u2066\\u2069\\u200e\\u200f\\u061c");
  assert.equal(visible("a\u2028b\u2029c"), "a\\u2028b\\u2029c");
});

Deno.test("visible() leaves printable text, non-ASCII letters and backslashes as they are", () => {
  for (const text of ["docs/report.pdf", "café ☕ 日本語.txt", "C:\\path", "", "100% done"]) {
    assert.equal(visible(text), text);
  }
});

Deno.test("visible() keeps newlines only when asked to", () => {
  assert.equal(visible("a\nb\u001b", { newlines: true }), "a\nb\\x1b");
  assert.equal(visible("a\r\nb", { newlines: true }), "a\\r\nb");
});

Deno.test("visible() never lets a hidden character through", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 64 }), (text) => {
      assert.ok(!HIDDEN.test(visible(text)));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("visibleJson() escapes DEL, C1 and bidirectional marks and keeps the exact value", () => {
  const value = { name: "a\u001b[2Jb\u009b31m\u007f\u202e", user: "ann", n: [1, "x\u2028"] };
  const text = visibleJson(JSON.stringify(value));
  assert.ok(!HIDDEN.test(text), text);
  assert.deepEqual(JSON.parse(text), value);
  assert.equal(visibleJson('{"a":"plain"}'), '{"a":"plain"}');
});

Deno.test("visibleJson() keeps the exact value of any JSON document", () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.string({ unit: "binary", maxLength: 32 }), (value, text) => {
      const json = visibleJson(JSON.stringify({ value, text }));
      assert.ok(!HIDDEN.test(json));
      assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify({ value, text })));
    }),
    { numRuns: 500 },
  );
});

Deno.test("formatTable() writes out control characters in cells and aligns what it shows", () => {
  const text = formatTable(["NAME", "AGENT"], [["a\u001b[2J", "x"], ["bb", "y"]]);
  assert.equal(text, ["NAME      AGENT", "a\\x1b[2J  x", "bb        y"].join("\n"));
});

Deno.test("renderProgress() writes out control characters in the file name", () => {
  const line = renderProgress({
    label: "a\u001b[2J.bin",
    phase: "fetch",
    doneBytes: 0,
    totalBytes: 1,
    rate: null,
    sources: 1,
  }, 80);
  assert.ok(line.startsWith("a\\x1b[2J.bin "), line);
});

Deno.test("formatStatus() writes out control characters in the tracker's error", () => {
  const text = formatStatus({
    user: "ann",
    tracker: { address: "127.0.0.1:1", reachable: false, tls: false, error: "x\u001b[2Jy" },
    sessions: null,
    peer: null,
    shared: null,
    downloads: null,
    failures: null,
    getSandbox: null,
  }, false);
  assert.ok(text.includes("x\\x1b[2Jy"), text);
  assert.ok(!text.includes("\u001b"), text);
});

Deno.test("describeError() writes out control characters in messages from the other side", () => {
  assert.equal(
    describeError(new RemoteError("REFUSED", "Cannot serve: \u001b[2J")),
    "Cannot serve: \\x1b[2J",
  );
  assert.equal(
    describeError(new PeerError("NO_SOURCE", "Cannot download a: bob said \u009b31m")),
    "Cannot download a: bob said \\x9b31m (try again when a peer that has it is online)",
  );
  assert.equal(describeError(new Error("x\ny")), "x\\ny");
});

Deno.test("describeError() leaves the command line's own multi-line messages as they are", () => {
  assert.equal(
    describeError(new CliError("Cannot run x: why\n\nUsage: ...", 2)),
    "Cannot run x: why\n\nUsage: ...",
  );
});
