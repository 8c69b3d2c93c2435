/**
 * The wire's two errors, both {@link CodedError}s: a {@link ProtocolError} when the other side
 * broke the protocol (bad frame, bad message), and a {@link RemoteError} when it answered with an
 * `error` reply. {@link REMOTE_ERROR_CODES} is the one list of codes an `error` reply may carry.
 *
 * @module
 */
import { CodedError } from "../common/mod.ts";

/** Codes for a peer or tracker that broke the wire protocol, as a list. */
export const PROTOCOL_ERROR_CODES = [
  "FRAME_TOO_LARGE",
  "TRUNCATED",
  "BAD_JSON",
  "BAD_MESSAGE",
  "UNKNOWN_TYPE",
  "VERSION_MISMATCH",
  "TIMEOUT",
  "BUSY",
] as const;

/** Codes for a peer or tracker that broke the wire protocol. */
export type ProtocolErrorCode = typeof PROTOCOL_ERROR_CODES[number];

/**
 * The other side sent bytes that are not a valid frame or message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProtocolError } from "./errors.ts";
 * const err = new ProtocolError("BAD_JSON", "Cannot read message: body is not JSON");
 * assert.ok(err.code === "BAD_JSON");
 * assert.equal(err.name, "ProtocolError");
 * ```
 */
export class ProtocolError extends CodedError<ProtocolErrorCode> {
  /** The class name, `ProtocolError`, for logs and `String(error)`. */
  override readonly name = "ProtocolError";
}

/**
 * Whether a server ends the connection after its `error` reply to `error`: when the framing is
 * lost (`FRAME_TOO_LARGE`, `TRUNCATED`: the stream is out of step), a frame found no memory
 * budget (`BUSY`), or before `hello` completed.
 * Any other bad message (`BAD_JSON`, `BAD_MESSAGE`, `UNKNOWN_TYPE`) ends only that request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { endsConnection, ProtocolError } from "./errors.ts";
 * assert.equal(endsConnection(new ProtocolError("BAD_JSON", "Cannot read message"), true), false);
 * assert.equal(endsConnection(new ProtocolError("TRUNCATED", "Cannot read frame"), true), true);
 * ```
 */
export function endsConnection(error: ProtocolError, greeted: boolean): boolean {
  return !greeted || error.code === "FRAME_TOO_LARGE" || error.code === "TRUNCATED" ||
    error.code === "BUSY";
}

/**
 * Every code a tracker or peer of this version puts in an `error` reply: the protocol's own,
 * the tracker's refusals, a peer's refusals, and `INTERNAL` for a bug on the other side.
 */
export const REMOTE_ERROR_CODES = [
  ...PROTOCOL_ERROR_CODES,
  "AUTH_FAILED",
  "USER_EXISTS",
  "BAD_TOKEN",
  "NOT_FOUND",
  "FORBIDDEN",
  "STALE",
  "INVALID",
  "RATE_LIMITED",
  "GONE",
  "INTERNAL",
] as const;

/** A code a tracker or peer of this version puts in an `error` reply. */
export type RemoteErrorCode = typeof REMOTE_ERROR_CODES[number];

/**
 * Whether `code` is one of {@link REMOTE_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRemoteErrorCode } from "./errors.ts";
 * assert.ok(isRemoteErrorCode("NOT_FOUND"));
 * assert.ok(!isRemoteErrorCode("SOMETHING_NEW"));
 * ```
 */
export function isRemoteErrorCode(code: string): code is RemoteErrorCode {
  return (REMOTE_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * An `error` reply from the other side, re-raised locally.
 *
 * `code` is one of {@link REMOTE_ERROR_CODES}, or `UNKNOWN` when the other side sent a code this
 * version does not know (a newer tracker or peer may add codes): callers then fall back to the
 * message, which the other side wrote for people. The code exactly as sent is kept in
 * `sentCode`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RemoteError } from "./errors.ts";
 * const err = new RemoteError("NOT_FOUND", "Cannot find file: a.txt");
 * assert.ok(err.code === "NOT_FOUND");
 * const newer = new RemoteError("SOMETHING_NEW", "Cannot do that: a newer reason");
 * assert.equal(newer.code, "UNKNOWN");
 * assert.equal(newer.sentCode, "SOMETHING_NEW");
 * ```
 */
export class RemoteError extends CodedError<RemoteErrorCode | "UNKNOWN"> {
  /** The class name, `RemoteError`, for logs and `String(error)`. */
  override readonly name = "RemoteError";
  /** The code exactly as the other side sent it (equal to `code` unless that is `UNKNOWN`). */
  readonly sentCode: string;
  /** Builds the error from the reply's `code` and `message`. */
  constructor(code: string, message: string) {
    super(isRemoteErrorCode(code) ? code : "UNKNOWN", message);
    this.sentCode = code;
  }
}
