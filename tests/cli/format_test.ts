import assert from "node:assert/strict";
import {
  formatBytes,
  formatChunks,
  formatCount,
  formatSeconds,
  formatTable,
  percentages,
} from "../../lib/cli/format.ts";
import { splitWords } from "../../lib/cli/shell.ts";

Deno.test("formatBytes() uses binary units with three significant digits and no trailing zeros", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1024), "1 KiB");
  assert.equal(formatBytes(5 * 1024 ** 3), "5 GiB");
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

Deno.test("formatCount() rounds fractional download counts to one decimal", () => {
  assert.equal(formatCount(8.255), "8.3");
  assert.equal(formatCount(15.18), "15.2");
  assert.equal(formatCount(0), "0");
});

Deno.test("formatChunks() shows a 12-byte file as one chunk of 12 B", () => {
  assert.equal(formatChunks(12, 1024 * 1024, 1), "1 (12 B)");
});

Deno.test("formatChunks() gives the last chunk's size when it is shorter", () => {
  assert.equal(formatChunks(2.5 * 1024 * 1024, 1024 * 1024, 3), "3 × 1 MiB (last 512 KiB)");
  assert.equal(formatChunks(3 * 1024 * 1024, 1024 * 1024, 3), "3 × 1 MiB");
});

Deno.test("percentages() of per-source shares add up to 100", () => {
  for (const parts of [[1, 1, 1], [2, 2, 2, 1], [333, 333, 334], [1, 2, 3, 4, 5, 6, 7]]) {
    assert.equal(percentages(parts).reduce((a, b) => a + b, 0), 100, String(parts));
  }
});
