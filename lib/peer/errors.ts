/**
 * The peer's own failures as one {@link CodedError} subclass, {@link PeerError}, with the codes
 * the CLI turns into a line and a hint.
 *
 * @module
 */
import { CodedError } from "../common/mod.ts";

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
 * const error = new PeerError("EXISTS", "Cannot save a.txt: file exists");
 * assert.ok(error.code === "EXISTS");
 * assert.equal(error.name, "PeerError");
 * ```
 */
export class PeerError extends CodedError<PeerErrorCode> {
  /** The class name, `PeerError`, for logs and `String(error)`. */
  override readonly name = "PeerError";
}
