/**
 * A mistake in how a command was called, or a failure the CLI explains; printed as one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CliError } from "./cli_error.ts";
 * assert.ok(new CliError("Cannot run: no command", 2).exitCode === 2);
 * ```
 */
export class CliError extends Error {
  /** Exit code: 2 for usage mistakes, 1 otherwise. */
  readonly exitCode: number;
  /** Builds the error. */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
