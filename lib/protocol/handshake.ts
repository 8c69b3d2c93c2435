/**
 * The server side of the `hello` rule, shared by tracker and peer: the first message must be
 * `hello`, and it must speak {@link PROTOCOL_VERSION}.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { PROTOCOL_VERSION } from "./messages.ts";

/**
 * Checks a request against the handshake so far; resolves to whether it is the `hello`.
 * Throws `BAD_MESSAGE` for anything before `hello`, `VERSION_MISMATCH` for another version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkHandshake } from "./handshake.ts";
 * assert.equal(checkHandshake({ type: "hello", version: 1 }, false, "peer"), true);
 * assert.throws(() => checkHandshake({ type: "ping" }, false, "peer"));
 * ```
 */
export function checkHandshake<R extends { type: string }>(
  request: R,
  greeted: boolean,
  server: "tracker" | "peer",
): request is Extract<R, { type: "hello" }> {
  if (request.type !== "hello") {
    if (!greeted) {
      throw new ProtocolError("BAD_MESSAGE", "Cannot accept request: send hello first");
    }
    return false;
  }
  const version = (request as { version?: unknown }).version;
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "VERSION_MISMATCH",
      `Cannot talk: ${server} speaks protocol ${PROTOCOL_VERSION}, client ${version}`,
    );
  }
  return true;
}
