/** Codes of a peer's own failures. */
export type PeerErrorCode =
  | "NOT_FOUND"
  | "NO_SOURCE"
  | "STALLED"
  | "EXISTS"
  | "VERIFY_FAILED"
  | "PATH_ESCAPE"
  | "STALE"
  | "DISK"
  | "BUSY"
  | "BAD_PATH"
  | "TRACKER_UNREACHABLE"
  | "TRACKER_KEY_CHANGED"
  | "BAD_DETAILS"
  | "FOREIGN_PART";

/**
 * A peer operation that could not be done; the CLI turns it into one line and a hint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PeerError } from "./errors.ts";
 * assert.ok(new PeerError("EXISTS", "Cannot save a.txt: file exists").code === "EXISTS");
 * ```
 */
export class PeerError extends Error {
  /** What went wrong. */
  readonly code: PeerErrorCode;
  /** Builds the error; `message` follows "Cannot X: why". */
  constructor(code: PeerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PeerError";
    this.code = code;
  }
}
