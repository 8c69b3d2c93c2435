/**
 * Flag values turned into what commands use, each with a usage error (exit 2) that names the flag
 * when the value is malformed: whole numbers, rates, version prefixes and PEM files. One parser
 * per kind of value, for the peer and the tracker alike.
 *
 * @module
 */
import { parseRate } from "../peer/mod.ts";
import { readPem } from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { USAGE_EXIT } from "./command_spec.ts";

/**
 * A string flag's value, or undefined (a switch given where a value was wanted counts as none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stringValue } from "./flag_values.ts";
 * assert.equal(stringValue("a"), "a");
 * assert.equal(stringValue(true), undefined);
 * ```
 */
export function stringValue(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * `text` as a whole number from `min` to `max`, or undefined when it is not one (empty text is
 * none, not 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wholeNumber } from "./flag_values.ts";
 * assert.equal(wholeNumber("64", 1, 64), 64);
 * assert.equal(wholeNumber("65", 1, 64), undefined);
 * assert.equal(wholeNumber("1.5", 1), undefined);
 * assert.equal(wholeNumber("", 0), undefined);
 * ```
 */
export function wholeNumber(
  text: string,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = text.trim() === "" ? NaN : Number(text);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}

/**
 * A flag's whole number from `min` to `max`, or a usage error naming the flag and the range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wholeNumberFlag } from "./flag_values.ts";
 * assert.equal(wholeNumberFlag("4", "--sources", 1, 64), 4);
 * assert.throws(() => wholeNumberFlag("0", "--sources", 1, 64), /expected a whole number from 1 to 64/);
 * assert.throws(() => wholeNumberFlag("x", "--max-unticketed", 1), /expected a positive whole number/);
 * ```
 */
export function wholeNumberFlag(text: string, flag: string, min: number, max?: number): number {
  const value = wholeNumber(text, min, max);
  if (value !== undefined) return value;
  const expected = max !== undefined
    ? `a whole number from ${min} to ${max}`
    : min === 1
    ? "a positive whole number"
    : `a whole number of at least ${min}`;
  throw new CliError(`Cannot use ${flag} "${text}": expected ${expected}`, USAGE_EXIT);
}

/**
 * A rate flag (`20MB/s`), or a usage error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRateOption } from "./flag_values.ts";
 * assert.equal(parseRateOption("1000"), 1000);
 * ```
 */
export function parseRateOption(text: string): number {
  try {
    return parseRate(text);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), USAGE_EXIT);
  }
}

/**
 * `--version PREFIX`, checked: 4-64 hex digits of a version id or SHA-256, in lower case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { versionOption } from "./flag_values.ts";
 * assert.deepEqual(versionOption("3F2A9C"), { version: "3f2a9c" });
 * assert.deepEqual(versionOption(undefined), {});
 * assert.throws(() => versionOption("xyz"), /4-64 hex digits/);
 * ```
 */
export function versionOption(value: string | boolean | undefined): { version?: string } {
  if (typeof value !== "string") return {};
  const prefix = value.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(prefix)) {
    throw new CliError(
      `Cannot use --version ${value}: give 4-64 hex digits of a version id or SHA-256 (see 'details FILE')`,
      USAGE_EXIT,
    );
  }
  return { version: prefix };
}

/** A PEM file named by a flag (`--tls-ca`, `--tls-cert`, `--tls-key`), or a usage error. */
export async function readPemFlag(path: string): Promise<string> {
  try {
    return await readPem(path);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), USAGE_EXIT);
  }
}
