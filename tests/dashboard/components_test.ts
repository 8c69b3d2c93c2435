import assert from "node:assert/strict";
import {
  addRequests,
  attributes,
  emptyCounters,
  facts,
  html,
  peersTable,
  type PeerView,
  renderDocument,
  stalledPill,
  table,
} from "../../lib/dashboard/mod.ts";

Deno.test("attributes() leaves out null, undefined and false but keeps 0 and empty text", () => {
  const marks = attributes({ a: null, b: undefined, c: false, d: 0, e: "", f: `"<x>"` });
  assert.equal(marks.value, ` d="0" e="" f="&quot;&lt;x&gt;&quot;"`);
});

Deno.test("table() shows its sentence instead of a table when there are no rows", () => {
  const columns = [{ label: "Name", cell: (row: { name: string }) => row.name }];
  assert.equal(
    table([], columns, { empty: "Nothing here." }).value,
    `<p class="empty">Nothing here.</p>`,
  );
  assert.match(
    table([], columns).value,
    /^<table><thead><tr><th>Name<\/th><\/tr><\/thead><tbody><\/tbody><\/table>$/,
  );
});

Deno.test("table() escapes cells, marks numeric columns and names keyed cells", () => {
  const rows = [{ name: "<b>", size: 0 }];
  const out = table(rows, [
    { label: "Name", cell: (r) => r.name },
    { label: "Size", numeric: true, key: "size", cell: (r) => r.size },
  ], { className: "files", row: (r) => ({ "data-name": r.name }) }).value;
  assert.match(out, /<th class="n">Size<\/th>/);
  assert.match(
    out,
    /<tr data-name="&lt;b&gt;"><td>&lt;b&gt;<\/td><td class="n" data-col="size">0<\/td><\/tr>/,
  );
});

Deno.test("the peers table marks the sorted column and links it to the other direction", () => {
  const peer = (user: string, downloads: number): PeerView => ({
    user,
    address: "127.0.0.1:1",
    online: true,
    lastSeen: 1,
    downloads,
    failures: 0,
    filesShared: 0,
    bytesShared: 0,
    downloading: 0,
    stalled: 0,
    announced: true,
  });
  const out = peersTable([peer("ann", 1), peer("bob", 5)], {
    now: 1,
    sort: { by: "downloads", dir: "desc" },
  })
    .value;
  assert.match(
    out,
    /<th class="n" aria-sort="descending"><a href="\?sort=downloads&amp;dir=asc" data-sort="downloads">Downloads ▼<\/a><\/th>/,
  );
  assert.match(
    out,
    /<th class=""><a href="\?sort=user&amp;dir=asc" data-sort="user">User<\/a><\/th>/,
  );
  assert.ok(
    out.indexOf('data-user="bob"') < out.indexOf('data-user="ann"'),
    "most downloads first",
  );
});

Deno.test("stalledPill() says nothing for no stalled download and keeps a space before the pill", () => {
  assert.equal(stalledPill(0).value, "");
  assert.equal(
    html`2${stalledPill(1)}`.value,
    `2 <span class="pill bad" data-state="stalled">1 stalled</span>`,
  );
});

Deno.test("facts() names only the values that have a stat", () => {
  assert.equal(
    facts(
      [{ label: "Size", value: "1 KiB" }, { label: "Holders", value: 2, stat: "holders" }],
      "peer",
    )
      .value,
    `<dl class="peer"><dt>Size</dt><dd>1 KiB</dd><dt>Holders</dt><dd data-stat="holders">2</dd></dl>`,
  );
});

Deno.test("renderDocument() marks only the page's own section as current in the nav", () => {
  const doc = renderDocument({ section: "files", title: "a<b", live: html`<p>x</p>` });
  assert.equal(doc.match(/aria-current/g)?.length, 1);
  assert.match(doc, /<a href="\/files" aria-current="page">Files<\/a>/);
  assert.match(doc, /<title>a&lt;b · p2pfs tracker<\/title>/);
  assert.match(doc, /<a href="\/healthz">\/healthz<\/a><\/footer>/);
});

Deno.test("emptyCounters() starts each set at zero, sharing nothing with the last", () => {
  const first = emptyCounters();
  addRequests(first, "list", "ok", 3);
  addRequests(first, "list", "ok", 1);
  assert.equal(first.requests.get("list")?.get("ok"), 4);
  assert.equal(emptyCounters().requests.size, 0);
});
