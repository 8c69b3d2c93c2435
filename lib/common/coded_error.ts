/**
 * The one shape of every p2pfs error that a caller tells apart by what went wrong: an `Error`
 * with a typed `code`. Each layer names its codes ({@link CodedError} with its own union) and
 * subclasses it once, so `error.code` is checked by the compiler everywhere.
 *
 * @module
 */

/**
 * An error with a typed `code` saying what went wrong; the message follows "Cannot X: why".
 *
 * @typeParam C The codes this kind of error can carry.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CodedError } from "./coded_error.ts";
 * class DiskError extends CodedError<"FULL" | "DENIED"> {
 *   override readonly name = "DiskError";
 * }
 * const error = new DiskError("FULL", "Cannot write a.bin: no space left");
 * assert.equal(error.code, "FULL");
 * assert.equal(error.name, "DiskError");
 * assert.ok(error instanceof CodedError);
 * ```
 */
export class CodedError<C extends string = string> extends Error {
  /** What went wrong. */
  readonly code: C;
  /** Builds the error; `message` follows "Cannot X: why". */
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
