/**
 * The page shell: the document around every dashboard page (head, header with the nav, the live
 * part, footer with the JSON links), and the plainer one around the sign-in and admin pages. A page
 * itself is a {@link Page}: a title, the nav entry it belongs to and its parts.
 *
 * @module
 */
import { element, type Html, html } from "./html.ts";

/** A rendered page: its title, the part that stays and the part that updates. */
export interface Page {
  /** Names the nav entry to highlight (`overview`, `peers`, `files`, `transfers`). */
  section: string;
  /** The `<title>` and heading. */
  title: string;
  /** Rendered once, above the live part (the search box). */
  fixed?: Html;
  /** Re-rendered on every change. */
  live: Html;
}

/** The nav entries: section, address, label. */
const NAV: readonly [section: string, href: string, label: string][] = [
  ["overview", "/", "Overview"],
  ["peers", "/peers", "Peers"],
  ["files", "/files", "Files"],
  ["transfers", "/transfers", "Transfers"],
  ["admin", "/admin", "Admin"],
];

/** The read-only JSON (and text) addresses the footer links to. */
const API_LINKS = [
  "/api/stats",
  "/api/peers",
  "/api/files",
  "/api/downloads",
  "/metrics",
  "/healthz",
] as const;

const BRAND = html`<a class="brand" href="/">p2pfs <span>tracker</span></a>`;

/** The `<head>`: title, viewport, style sheet, and the live-update script when `script`. */
function head(title: string, script: boolean): Html {
  return html`
    <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>${title} · p2pfs tracker</title>
      <link rel="stylesheet" href="/assets/app.css">
      ${script ? html`<script src="/assets/app.js" defer></script>` : ""}
    </head>
  `;
}

/**
 * The full HTML document around a {@link Page}: the nav (the page's section marked current), the
 * heading, the fixed part, the live part (in `#live`, which the page's script re-fetches) and the
 * footer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { html, renderDocument } from "./mod.ts";
 * const doc = renderDocument({ section: "peers", title: "Peers", live: html`<p>none</p>` });
 * assert.match(doc, /<a href="\/peers" aria-current="page">Peers<\/a>/);
 * assert.match(doc, /<div id="live"><p>none<\/p><\/div>/);
 * ```
 */
export function renderDocument(page: Page): string {
  const nav = NAV.map(([section, href, label]) =>
    element("a", { href, "aria-current": section === page.section && "page" }, label)
  );
  const footer = API_LINKS.map((href, i) =>
    html`${i > 0 ? " · " : ""}<a href="${href}">${href}</a>`
  );
  return "<!doctype html>\n" + html`
    <html lang="en">
      ${head(page.title, true)}
      <body data-section="${page.section}">
        <header>
          ${BRAND}
          <nav>${nav}</nav>
          <span id="live-status" class="live" data-state="connecting"
            title="Live updates">connecting</span>
        </header>
        <main>
          <h1 title="${page.title}">${page.title}</h1>
          ${page.fixed ?? ""}
          <div id="live">${page.live}</div>
        </main>
        <footer>Read-only JSON: ${footer}</footer>
      </body>
    </html>
  `.value;
}

/**
 * The plain document of the sign-in and admin pages: the same head and brand, no nav and no
 * live-update script, a heading and `body`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { html, plainDocument } from "./mod.ts";
 * const doc = plainDocument("Sign in", html`<form></form>`).value;
 * assert.match(doc, /<h1>Sign in<\/h1>\s*<form><\/form>/);
 * assert.doesNotMatch(doc, /app\.js/);
 * ```
 */
export function plainDocument(title: string, body: Html | string): Html {
  return html`
    <html lang="en">
      ${head(title, false)}
      <body data-section="access">
        <header>${BRAND}</header>
        <main>
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html>
  `;
}
