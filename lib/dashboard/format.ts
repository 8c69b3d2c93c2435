/**
 * Numbers for people: sizes and rates in binary units, moments relative to now, addresses.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * A byte count in binary units with three significant digits at most.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./format.ts";
 * assert.equal(formatBytes(3.5 * 1024 * 1024), "3.5 MiB");
 * assert.equal(formatBytes(12), "12 B");
 * ```
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0
    ? String(Math.round(value))
    : value >= 100
    ? value.toFixed(0)
    : value >= 10
    ? value.toFixed(1).replace(/\.0$/, "")
    : value.toFixed(2).replace(/\.?0+$/, "");
  return `${text} ${UNITS[unit]}`;
}

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

/** A count that may have a fraction (partial downloads), with at most two decimals. */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, "");
}

/** `HOST:PORT`, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A rate in bytes per second, in binary units; `—` when unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRate } from "./format.ts";
 * assert.equal(formatRate(2048), "2 KiB/s");
 * assert.equal(formatRate(null), "—");
 * ```
 */
export function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? "—" : `${formatBytes(bytesPerSecond)}/s`;
}
