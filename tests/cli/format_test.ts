import assert from "node:assert/strict";
import { formatBytes, formatSeconds, formatTable } from "../../lib/cli/format.ts";
import { splitWords } from "../../lib/cli/shell.ts";

Deno.test("formatBytes() uses binary units with three significant digits", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1024), "1.00 KiB");
  assert.equal(formatBytes(5 * 1024 ** 3), "5.00 GiB");
});

Deno.test("formatSeconds() switches from ms to s to minutes", () => {
  assert.equal(formatSeconds(0.0123), "12 ms");
  assert.equal(formatSeconds(2.44), "2.4 s");
  assert.equal(formatSeconds(125), "2 min 5 s");
});

Deno.test("formatTable() aligns columns and right-aligns the ones asked for", () => {
  const text = formatTable(["NAME", "SIZE"], [["a", "10 B"], ["long-name", "1 B"]], { right: [1] });
  assert.deepEqual(text.split("\n"), [
    "NAME       SIZE",
    "a          10 B",
    "long-name   1 B",
  ]);
});

Deno.test("splitWords() keeps double-quoted words together", () => {
  assert.deepEqual(splitWords('get "my file.txt" --force'), ["get", "my file.txt", "--force"]);
  assert.deepEqual(splitWords("  list  "), ["list"]);
});
