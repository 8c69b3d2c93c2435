/**
 * The small pieces the dashboard's pages are built from: links to files and peers, a pill for a
 * state, a progress bar, a moment ago, a headline card, a titled section, a list of facts and the
 * sentence shown where a list is empty. Each is a pure function from values to {@link Html}; the
 * table component is in `table.ts`, the chunk map in `chunk_map.ts`.
 *
 * @module
 */
import { formatAgo } from "./format.ts";
import { type AttributeValue, element, type Html, html, type HtmlValue } from "./html.ts";

/**
 * Link to a file's page; each segment of the name is URL-encoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileHref } from "./components.ts";
 * assert.equal(fileHref("a dir/b?.txt"), "/files/a%20dir/b%3F.txt");
 * ```
 */
export function fileHref(name: string): string {
  return "/files/" + name.split("/").map(encodeURIComponent).join("/");
}

/** Link to a peer's page. */
export function peerHref(user: string): string {
  return "/peers/" + encodeURIComponent(user);
}

/**
 * A name that may be long: shown on one line, cut with an ellipsis where the column ends, the full
 * name on hover (never wrapped mid-word).
 */
function longName(name: string, href?: string): Html {
  return href
    ? html`<a class="trunc" href="${href}" title="${name}">${name}</a>`
    : html`<span class="trunc" title="${name}">${name}</span>`;
}

/** A link to a file's page, truncated to its column. */
export function fileLink(name: string): Html {
  return longName(name, fileHref(name));
}

/** A link to a peer's page, truncated to its column. */
export function peerLink(user: string): Html {
  return longName(user, peerHref(user));
}

/** The kinds of {@link pill}: `on` (green), `off` (grey), `busy` (blue), `bad` (red). */
export type PillKind = "on" | "off" | "busy" | "bad";

/**
 * A state as a coloured pill, with optional attributes (`data-state`, `title`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pill } from "./components.ts";
 * assert.equal(pill("bad", "failed", { "data-state": "x" }).value,
 *   `<span class="pill bad" data-state="x">failed</span>`);
 * ```
 */
export function pill(
  kind: PillKind,
  text: HtmlValue,
  attrs: Readonly<Record<string, AttributeValue>> = {},
): Html {
  return element("span", { class: `pill ${kind}`, ...attrs }, text);
}

/** `online` or `offline`. */
export function onlinePill(online: boolean): Html {
  return online ? pill("on", "online") : pill("off", "offline");
}

/** `N stalled`, marked `data-state="stalled"`, after a space; nothing when `count` is 0. */
export function stalledPill(count: number): Html {
  if (count === 0) return html``;
  return html`${" "}${pill("bad", `${count} stalled`, { "data-state": "stalled" })}`;
}

/** Where a download stands: stalled (and why, also on hover), or downloading. */
export function downloadState(d: { stalled?: boolean; stalledWhy?: string }): Html {
  if (!d.stalled) return pill("busy", "downloading", { "data-state": "downloading" });
  const title = d.stalledWhy === "no progress"
    ? "Its progress reports stopped moving"
    : "It said no online peer has the chunks it still needs";
  return pill("bad", `stalled: ${d.stalledWhy ?? "no source"}`, { "data-state": "stalled", title });
}

/**
 * A peer's status: online or offline; downloading or seeding for a `get` that never announced
 * (it is online while its download is known).
 */
export function peerStatus(p: { announced: boolean; online: boolean; downloading: number }): Html {
  if (!p.announced && p.online) {
    return p.downloading > 0 ? pill("busy", "downloading") : pill("on", "seeding");
  }
  return onlinePill(p.online);
}

/**
 * A share (0-1) as a bar and a percentage, rounded down to a tenth.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressBar } from "./components.ts";
 * assert.match(progressBar(0.4567).value, /<\/progress> 45\.6%<\/span>/);
 * ```
 */
export function progressBar(progress: number): Html {
  const percent = Math.floor(progress * 1000) / 10;
  const bar = html`<progress max="1" value="${progress}"></progress>`;
  return html`<span class="progress" data-progress="${progress}">${bar} ${percent}%</span>`;
}

/** How long ago `at` was, in a `<time>` the page's script keeps current; `never` for 0. */
export function timeAgo(at: number, now: number): Html {
  if (at <= 0) return html`never`;
  return html`<time datetime="${new Date(at).toISOString()}" data-ago>${formatAgo(at, now)}</time>`;
}

/** The first 16 hex digits of a hash, the whole hash on hover. */
export function shortHash(sha256: string): Html {
  return html`<code title="${sha256}">${sha256.slice(0, 16)}…</code>`;
}

/** What a {@link card} shows. */
export interface CardContent {
  /** Names the value (`data-stat`), for the page's script and tests. */
  stat: string;
  /** The number, as shown. */
  value: string | number;
  /** What it counts. */
  label: string;
  /** A note below, if any. */
  note?: HtmlValue;
}

/**
 * A headline number: its value, what it counts and an optional note below.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { card } from "./components.ts";
 * const files = card({ stat: "files", value: 3, label: "files" }).value;
 * assert.match(files, /<div class="num" data-stat="files">3<\/div>/);
 * ```
 */
export function card(content: CardContent): Html {
  const number = html`<div class="num" data-stat="${content.stat}">${content.value}</div>`;
  const below = content.note ? html`<div class="note">${content.note}</div>` : "";
  return html`<div class="card">${number}<div class="label">${content.label}</div>${below}</div>`;
}

/** A `<section>` with its heading. */
export function section(title: HtmlValue, ...body: HtmlValue[]): Html {
  return html`<section><h2>${title}</h2>${body}</section>`;
}

/** One entry of {@link facts}. */
export interface Fact {
  /** What it is. */
  label: string;
  /** Its value. */
  value: HtmlValue;
  /** Names the value (`data-stat`), for scripts and tests that look it up. */
  stat?: string;
}

/**
 * A definition list of labelled values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { facts } from "./components.ts";
 * assert.equal(facts([{ label: "Holders", value: 2, stat: "holders" }]).value,
 *   `<dl><dt>Holders</dt><dd data-stat="holders">2</dd></dl>`);
 * ```
 */
export function facts(items: readonly Fact[], className?: string): Html {
  const entries = items.map((f) => [
    element("dt", {}, f.label),
    element("dd", { "data-stat": f.stat }, f.value),
  ]);
  return element("dl", { class: className }, entries);
}

/** The sentence shown where a list is empty. */
export function emptyState(text: HtmlValue): Html {
  return html`<p class="empty">${text}</p>`;
}
