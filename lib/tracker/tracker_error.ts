/**
 * The tracker's refusals ({@link TrackerError}, which becomes an `error` reply with its code) and
 * the shapes every request handler shares: who asked ({@link RequestContext}) and what it answers
 * ({@link Reply}).
 *
 * @module
 */
import { CodedError } from "../common/mod.ts";
import type { RemoteErrorCode } from "../protocol/mod.ts";
import { HashBusyError } from "./password.ts";

/**
 * Codes of the tracker's refusals: a part of the wire's {@link RemoteErrorCode}s, so the compiler
 * refuses a code that the clients would not know.
 */
export type TrackerErrorCode = Extract<
  RemoteErrorCode,
  | "AUTH_FAILED"
  | "USER_EXISTS"
  | "BAD_TOKEN"
  | "NOT_FOUND"
  | "FORBIDDEN"
  | "INVALID"
  | "RATE_LIMITED"
  | "BUSY"
>;

/**
 * A request the tracker refuses; becomes an `error` reply with the same code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TrackerError } from "./tracker_error.ts";
 * assert.ok(new TrackerError("NOT_FOUND", "Cannot find file: x").code === "NOT_FOUND");
 * ```
 */
export class TrackerError extends CodedError<TrackerErrorCode> {
  /** The class name, `TrackerError`, for logs and `String(error)`. */
  override readonly name = "TrackerError";
}

/** A full hash queue as the `BUSY` refusal; any other error as it is. */
export function busy(error: unknown): unknown {
  return error instanceof HashBusyError ? new TrackerError("BUSY", error.message) : error;
}

/** Who sent a request: the connection's remote address and the agent it named in `hello`. */
export interface RequestContext {
  /**
   * Remote IP address, in `canonicalAddress()` form (IPv4-mapped IPv6 as IPv4). Absent only
   * for in-process callers, whose `announce` then records the host they name.
   */
  address?: string;
  /** The client's agent string from `hello`. */
  agent?: string;
}

/** A reply the service returns: a JSON-ready object with a `type`. */
export type Reply = { type: string } & Record<string, unknown>;
