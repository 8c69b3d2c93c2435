/**
 * The dashboard's only static files, kept as strings so there is no build step and nothing to
 * download: the style sheet and the small script that keeps a page live (server-sent events,
 * re-fetching the page's live part, search as you type, relative times).
 *
 * @module
 */

/** `/assets/app.css`. */
export const APP_CSS: string = `
:root { color-scheme: light; --fg: #212529; --muted: #868e96; --line: #dee2e6; --bg: #f8f9fa;
  --accent: #1971c2; --ok: #2f9e44; --bad: #e03131; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1c2733;
  color: #fff; }
header a { color: #ced4da; text-decoration: none; }
header nav { display: flex; gap: 4px; flex: 1; }
header nav a { padding: 6px 12px; border-radius: 6px; }
header nav a:hover { background: #2b3a4a; color: #fff; }
header nav a[aria-current="page"] { background: #364fc7; color: #fff; }
.brand { font-weight: 700; font-size: 16px; color: #fff; }
.brand span { font-weight: 400; color: #91a7ff; }
.live { font-size: 12px; padding: 3px 10px; border-radius: 999px; background: #495057; }
.live::before { content: "● "; }
.live[data-state="live"] { background: #2b8a3e; }
.live[data-state="reconnecting"] { background: #c92a2a; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 24px 32px; }
h1 { font-size: 22px; margin: 18px 0 12px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
h2 { font-size: 16px; margin: 22px 0 8px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
a { color: var(--accent); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card .num { font-size: 28px; font-weight: 700; }
.card .label { color: var(--muted); }
.card .note { color: var(--muted); font-size: 12px; margin-top: 4px; }
.columns { display: grid; grid-template-columns: 1fr 2fr; gap: 24px; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line);
  border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; white-space: nowrap; }
th a { color: inherit; text-decoration: none; }
th a:hover { text-decoration: underline; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: 0; }
.trunc { display: inline-block; max-width: 28ch; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: bottom; }
td { white-space: nowrap; }
.muted { color: var(--muted); }
.pill.busy { background: #d0ebff; color: #1864ab; }
.progress { display: inline-flex; align-items: center; gap: 6px; font-variant-numeric: tabular-nums; }
.progress progress { width: 110px; height: 10px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; padding: 0;
  margin: 6px 0 0; color: var(--muted); font-size: 12px; }
.legend li { display: inline-flex; align-items: center; gap: 4px; }
.swatch { border: 1px solid var(--line); }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.pill { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 999px; }
.pill.on { background: #d3f9d8; color: #2b8a3e; }
.pill.off { background: #e9ecef; color: #495057; }
.pill.bad { background: #ffe3e3; color: #c92a2a; }
.empty, .hint, .summary { color: var(--muted); }
.chart, .chunkmap { display: block; max-width: 100%; height: auto; background: #fff;
  border: 1px solid var(--line); border-radius: 8px; padding: 6px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-all; }
.search { display: flex; gap: 8px; margin-bottom: 8px; }
.search input { flex: 1; max-width: 420px; padding: 7px 10px; border: 1px solid #ced4da;
  border-radius: 6px; font: inherit; }
.search button { padding: 7px 14px; border: 0; border-radius: 6px; background: var(--accent);
  color: #fff; font: inherit; }
footer { max-width: 1180px; margin: 0 auto; padding: 16px 24px 32px; color: var(--muted); }
`;

/** `/assets/app.js`: runs in the browser, in plain ES2020 so it needs no build step. */
export const APP_JS: string = `"use strict";
(() => {
  const status = document.getElementById("live-status");
  const live = document.getElementById("live");
  const search = document.getElementById("search");
  let busy = false;
  let again = false;
  let refreshes = 0;

  function setState(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function ago(at) {
    const s = Math.max(0, Math.round((Date.now() - at) / 1000));
    if (s < 2) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function tick() {
    for (const t of document.querySelectorAll("time[data-ago]")) {
      t.textContent = ago(Date.parse(t.getAttribute("datetime")));
    }
  }

  // Fetches the live part of this very page again; changes during a fetch cause one more.
  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const response = await fetch(location.pathname + location.search, {
          headers: { "X-Fragment": "1" },
          cache: "no-store",
        });
        if (response.ok || response.status === 404) {
          live.innerHTML = await response.text();
          tick();
          document.body.dataset.refreshes = String(++refreshes);
        }
      } while (again);
    } catch (error) {
      console.warn("Cannot refresh the page:", error);
    } finally {
      busy = false;
    }
  }

  const events = new EventSource("/api/events");
  // Every (re)connection starts with "hello": refresh then, in case something changed unseen.
  events.addEventListener("hello", () => {
    setState("live", "live");
    refresh();
  });
  events.addEventListener("change", () => refresh());
  events.addEventListener("error", () => setState("reconnecting", "reconnecting"));

  if (search) {
    let timer;
    const apply = () => {
      const url = new URL(location.href);
      if (search.value) url.searchParams.set("search", search.value);
      else url.searchParams.delete("search");
      history.replaceState(null, "", url);
      refresh();
    };
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(apply, 150);
    });
    search.form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(timer);
      apply();
    });
  }
  setInterval(tick, 5000);
})();
`;
