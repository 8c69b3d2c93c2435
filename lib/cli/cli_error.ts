/**
 * The CLI's own error, {@link CliError}: one line to print and the exit code to end with.
 *
 * @module
 */

/**
 * A mistake in how a command was called, or a failure the CLI explains; printed as one line.
 *
 * Unlike the layers' errors (each a `CodedError` with a typed `code`), it carries no `code`: it
 * is the end of the line, where the only thing left to tell apart is how the process exits, and
 * `exitCode` says that (1 a failure, 2 a usage mistake, 3 a stalled download, 130 interrupted).
 * The error it explains keeps its own code in the message the CLI wrote from it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CliError } from "./cli_error.ts";
 * const error = new CliError("Cannot run: no command", 2);
 * assert.equal(error.exitCode, 2);
 * assert.equal(error.name, "CliError");
 * assert.equal(new CliError("Cannot log in: tracker unreachable").exitCode, 1);
 * ```
 */
export class CliError extends Error {
  /** The class name, `CliError`, for logs and `String(error)`. */
  override readonly name = "CliError";
  /** Exit code: 2 for usage mistakes, 1 otherwise (see `command_spec.ts` for the others). */
  readonly exitCode: number;
  /** Builds the error; `message` follows "Cannot X: why". */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
