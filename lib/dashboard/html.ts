/**
 * Safe HTML building: the {@link html} template tag escapes every value it is given unless the
 * value is already {@link Html} (made by `html` itself or, for trusted markup, {@link rawHtml}).
 *
 * @module
 */

/** Markup that is safe to insert as is. */
export class Html {
  /** The markup. */
  readonly value: string;
  /** Wraps markup already known to be safe. */
  constructor(value: string) {
    this.value = value;
  }
  /** The markup. */
  toString(): string {
    return this.value;
  }
}

/** What {@link html} accepts as a value: text (escaped), markup, or lists of them. */
export type HtmlValue = Html | string | number | null | undefined | false | readonly HtmlValue[];

/**
 * Escapes `&`, `<`, `>`, `"` and `'`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./html.ts";
 * assert.equal(escapeHtml(`<a href="x">`), "&lt;a href=&quot;x&quot;&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * Builds markup from a template, escaping every interpolated value that is not {@link Html};
 * `null`, `undefined` and `false` render as nothing, arrays as their items in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { html } from "./html.ts";
 * const name = "<script>";
 * assert.equal(html`<td>${name}</td>`.value, "<td>&lt;script&gt;</td>");
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** Marks trusted markup (never anything a client sent) as safe. */
export function rawHtml(markup: string): Html {
  return new Html(markup);
}

/** What {@link attributes} accepts as a value: text or a number, or nothing (the attribute is left out). */
export type AttributeValue = string | number | null | undefined | false;

/**
 * Attributes from a record, each as ` name="value"` with the value escaped, in the record's order;
 * a value that is `null`, `undefined` or `false` leaves its attribute out. Names come from code,
 * never from a client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attributes, html } from "./html.ts";
 * const row = html`<tr${attributes({ "data-user": "a&b", "data-stalled": false })}>`;
 * assert.equal(row.value, `<tr data-user="a&amp;b">`);
 * ```
 */
export function attributes(values: Readonly<Record<string, AttributeValue>>): Html {
  let out = "";
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === false) continue;
    out += ` ${name}="${escapeHtml(String(value))}"`;
  }
  return new Html(out);
}

/**
 * An element: `<name attributes>children</name>`, the attributes as {@link attributes} writes
 * them and the children as {@link html} renders values (text escaped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { element } from "./html.ts";
 * const cell = element("td", { class: "n", "data-col": undefined }, "<3");
 * assert.equal(cell.value, `<td class="n">&lt;3</td>`);
 * ```
 */
export function element(
  name: string,
  attrs: Readonly<Record<string, AttributeValue>>,
  ...children: HtmlValue[]
): Html {
  return new Html(`<${name}${attributes(attrs).value}>${render(children)}</${name}>`);
}
