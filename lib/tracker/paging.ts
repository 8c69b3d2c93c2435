/**
 * Pages of replies: whatever the index holds, one reply carries at most
 * {@link MAX_PAGE_ENTRIES} entries and {@link MAX_PAGE_BYTES} of their JSON, so no reply outgrows
 * the frame limit; the client follows the cursor for the rest.
 *
 * @module
 */
import { MAX_PAGE_BYTES, MAX_PAGE_ENTRIES } from "../protocol/mod.ts";

const encoder = new TextEncoder();

/** Bytes of `value` as JSON in UTF-8 (what it adds to a frame, give or take a comma). */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  // ASCII (the common case) is one byte a character: no need to encode it to count.
  return NOT_ASCII.test(text) ? encoder.encode(text).length : text.length;
}

const NOT_ASCII = /[^ -~\t\n\r]/;

// (Control characters other than tab and line ends are escaped by JSON.stringify, so what is left
// outside " "…"~" is not ASCII.)

/**
 * Collects entries from `source` into one page: stops before the entry that would cross
 * `maxBytes` of JSON or `maxEntries` entries, and says whether more are left.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { takePage } from "./paging.ts";
 * const page = takePage([1, 2, 3].values(), { maxEntries: 2 });
 * assert.deepEqual(page, { entries: [1, 2], more: true });
 * ```
 */
export function takePage<T>(
  source: Iterator<T>,
  options: { maxEntries?: number; maxBytes?: number } = {},
): { entries: T[]; more: boolean } {
  const maxEntries = Math.min(options.maxEntries ?? MAX_PAGE_ENTRIES, MAX_PAGE_ENTRIES);
  const maxBytes = options.maxBytes ?? MAX_PAGE_BYTES;
  const entries: T[] = [];
  let bytes = 0;
  while (true) {
    const next = source.next();
    if (next.done) return { entries, more: false };
    const size = jsonBytes(next.value) + 1;
    if (entries.length >= maxEntries || (entries.length > 0 && bytes + size > maxBytes)) {
      return { entries, more: true };
    }
    entries.push(next.value);
    bytes += size;
  }
}

/** Code-unit order, the same everywhere (no locale). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The first index in `sorted` (ascending by `compare`) whose entry sorts after `after`:
 * where a page that starts after `after` begins.
 */
export function startAfter<T, K>(
  sorted: readonly T[],
  after: K,
  compare: (a: T, b: K) => number,
): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compare(sorted[mid]!, after) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
