/** Codes for a peer or tracker that broke the wire protocol. */
export type ProtocolErrorCode =
  | "FRAME_TOO_LARGE"
  | "TRUNCATED"
  | "BAD_JSON"
  | "BAD_MESSAGE"
  | "UNKNOWN_TYPE"
  | "VERSION_MISMATCH"
  | "TIMEOUT"
  | "BUSY";

/**
 * The other side sent bytes that are not a valid frame or message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProtocolError } from "./errors.ts";
 * const err = new ProtocolError("BAD_JSON", "Cannot read message: body is not JSON");
 * assert.ok(err.code === "BAD_JSON");
 * ```
 */
export class ProtocolError extends Error {
  /** Which rule was broken. */
  readonly code: ProtocolErrorCode;
  /** Builds the error; `message` follows "Cannot X: why". */
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
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

/** Codes a tracker or peer puts in an `error` reply. */
export type RemoteErrorCode =
  | ProtocolErrorCode
  | "AUTH_FAILED"
  | "USER_EXISTS"
  | "BAD_TOKEN"
  | "NOT_FOUND"
  | "FORBIDDEN"
  | "STALE"
  | "INVALID"
  | "RATE_LIMITED"
  | "BUSY"
  | "GONE"
  | "INTERNAL";

/**
 * An `error` reply from the other side, re-raised locally.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RemoteError } from "./errors.ts";
 * const err = new RemoteError("NOT_FOUND", "Cannot find file: a.txt");
 * assert.ok(err.code === "NOT_FOUND");
 * ```
 */
export class RemoteError extends Error {
  /** The code the other side gave. */
  readonly code: string;
  /** Builds the error from the reply's `code` and `message`. */
  constructor(code: string, message: string) {
    super(message);
    this.name = "RemoteError";
    this.code = code;
  }
}
