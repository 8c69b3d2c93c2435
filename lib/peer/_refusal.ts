/**
 * A serving peer's refusal of one request: the serve loop turns it into an `error` reply with its
 * code, and the connection goes on. Private to the peer server's modules (`peer_server.ts`,
 * `share_reader.ts`, `have_replies.ts`).
 *
 * @module
 */
import { CodedError } from "../common/mod.ts";

/** Why a serving peer refused a request, in the wire's codes. */
export type RefusalCode = "FORBIDDEN" | "BUSY" | "NOT_FOUND" | "GONE" | "STALE" | "INVALID";

/**
 * A request this peer will not serve; `message` follows "Cannot X: why".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Refusal } from "./_refusal.ts";
 * const refusal = new Refusal("STALE", "Cannot read a.txt: it changed since it was indexed");
 * assert.equal(refusal.code, "STALE");
 * ```
 */
export class Refusal extends CodedError<RefusalCode> {}
