import assert from "node:assert/strict";
import {
  chunkMap,
  escapeHtml,
  fileHref,
  formatAgo,
  formatBytes,
  html,
  rawHtml,
} from "../../lib/dashboard/mod.ts";

Deno.test("html`` escapes interpolated text but not markup it built itself", () => {
  const name = `a"<b>'&`;
  const cell = html`<td title="${name}">${name}</td>`;
  assert.equal(
    cell.value,
    `<td title="a&quot;&lt;b&gt;&#39;&amp;">a&quot;&lt;b&gt;&#39;&amp;</td>`,
  );
  assert.equal(html`<tr>${[cell, null, false, undefined]}</tr>`.value, `<tr>${cell.value}</tr>`);
  assert.equal(html`${rawHtml("<b>")}`.value, "<b>");
  assert.equal(escapeHtml("plain"), "plain");
});

Deno.test("fileHref() encodes each segment of a name and keeps its slashes", () => {
  assert.equal(fileHref("a dir/b?#%.txt"), "/files/a%20dir/b%3F%23%25.txt");
});

Deno.test("formatBytes() uses binary units with at most three significant digits", () => {
  assert.deepEqual(
    [0, 1023, 1024, 1536, 10.5 * 1024 * 1024, 123 * 1024 ** 3].map(formatBytes),
    ["0 B", "1023 B", "1 KiB", "1.5 KiB", "10.5 MiB", "123 GiB"],
  );
});

Deno.test("formatAgo() says how long ago in the largest whole unit", () => {
  const now = 10 * 86400_000;
  assert.deepEqual(
    [now, now - 5_000, now - 120_000, now - 7_200_000, now - 3 * 86400_000, 0].map((at) =>
      formatAgo(at, now)
    ),
    ["just now", "5 s ago", "2 min ago", "2 h ago", "3 d ago", "never"],
  );
});

Deno.test("chunkMap() draws one square per chunk with its number of sources", () => {
  const svg = chunkMap([2, 2, 0]).value;
  assert.equal(svg.match(/<rect /g)?.length, 3);
  assert.ok(svg.includes("chunk 2: 0 online sources"));
  assert.ok(svg.includes("chunk 0: 2 online sources"));
});
