/**
 * Sizes, counts and rates for people: one convention for the command line, the progress line and
 * the dashboard alike.
 *
 * - **Sizes are shown in binary units** (B, KiB, MiB, GiB, TiB, PiB; 1 KiB = 1024 B) with three
 *   significant digits and no trailing zeros: `12 B`, `1 KiB`, `1.5 KiB`, `10.5 MiB`, `123 GiB`.
 *   Bytes are whole; from 1000 to 1023 a unit keeps four digits (`1010 KiB`) rather than turning
 *   into `0.99 MiB`.
 * - **Rates** are a size per second (`2 KiB/s`), and `—` while unknown.
 * - **Counts** that may have a fraction (a source that sent part of a file is credited that part)
 *   are shown to one decimal: `8.3`, `15.2`, `3`. The JSON outputs keep the exact value.
 * - **Rates people type** (`--max-rate 20MB/s`, `--max-upload 512KiB/s`) mean exactly what they
 *   say: decimal suffixes are powers of 1000 (`kB`, `MB`, `GB`, `TB`; `20MB/s` is 20,000,000
 *   bytes a second), binary ones powers of 1024 (`KiB`, `MiB`, `GiB`, `TiB`), and a bare number
 *   is bytes. A
 *   measured rate is still shown in binary units, so a download limited to `20MB/s` is seen
 *   running at about `19.1 MiB/s`; where a limit someone typed is echoed back, it is echoed as
 *   typed.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** Three significant digits for 1 ≤ `value` < 1024, trailing zeros dropped (never an exponent). */
function threeDigits(value: number): string {
  const decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return String(Number(value.toFixed(decimals)));
}

/**
 * A byte count in binary units with three significant digits, trailing zeros dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./units.ts";
 * assert.equal(formatBytes(12), "12 B");
 * assert.equal(formatBytes(1024), "1 KiB");
 * assert.equal(formatBytes(1536), "1.5 KiB");
 * assert.equal(formatBytes(3.5 * 1024 * 1024), "3.5 MiB");
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 0) return `-${formatBytes(-bytes)}`;
  if (Math.round(bytes) < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounding may reach the next unit: 1023.999 KiB is 1 MiB.
  if (Number(threeDigits(value)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${threeDigits(value)} ${UNITS[unit]}`;
}

/**
 * A rate in bytes per second, in binary units (see {@link formatBytes}); `—` when unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRate } from "./units.ts";
 * assert.equal(formatRate(2048), "2 KiB/s");
 * assert.equal(formatRate(20_000_000), "19.1 MiB/s");
 * assert.equal(formatRate(null), "—");
 * ```
 */
export function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? "—" : `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * A count that may have a fraction (downloads credited in part), to one decimal; whole counts as
 * they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCount } from "./units.ts";
 * assert.equal(formatCount(8.255), "8.3");
 * assert.equal(formatCount(15.18), "15.2");
 * assert.equal(formatCount(3), "3");
 * ```
 */
export function formatCount(count: number): string {
  return String(Math.round(count * 10) / 10);
}

/**
 * Parses a rate as typed, in bytes per second: a number with an optional suffix, in any case, the
 * `B` and the `/s` optional. Decimal suffixes are powers of 1000 (`20MB/s` is 20,000,000 bytes a
 * second), binary ones powers of 1024 (`512KiB/s` is 524,288); a bare number is bytes. Throws a
 * `TypeError` for anything else, and for a rate of zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRate } from "./units.ts";
 * assert.equal(parseRate("20MB/s"), 20_000_000);
 * assert.equal(parseRate("1MiB/s"), 1_048_576);
 * assert.throws(() => parseRate("0MB/s"), /must be above zero/);
 * ```
 */
export function parseRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)(?:\/s)?\s*$/i.exec(text);
  if (!match) throw new TypeError(`Cannot parse rate "${text}": expected e.g. 20MB/s or 512KiB/s`);
  const [, number, prefix, binary] = match;
  const power = " kmgt".indexOf((prefix || " ").toLowerCase());
  const base = binary ? 1024 : 1000;
  const rate = Math.round(Number(number) * base ** power);
  if (!(rate > 0)) throw new TypeError(`Cannot use rate "${text}": it must be above zero`);
  return rate;
}
