/**
 * Moments relative to now and addresses, for people; sizes, counts and rates come from
 * `lib/common/units.ts` (re-exported here), so the dashboard writes them as the command line does.
 *
 * @module
 */

/** Sizes, counts and rates are written one way everywhere: see `lib/common/units.ts`. */
export { formatBytes, formatCount, formatRate } from "../common/mod.ts";

/**
 * How long ago `at` was, seen from `now`: `just now`, `42 s ago`, `5 min ago`, `3 h ago`,
 * `2 d ago`; `never` for 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAgo } from "./format.ts";
 * assert.equal(formatAgo(1_000, 61_000), "1 min ago");
 * ```
 */
export function formatAgo(at: number, now: number): string {
  if (at <= 0) return "never";
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** `HOST:PORT`, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
