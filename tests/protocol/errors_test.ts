import assert from "node:assert/strict";
import { CodedError } from "../../lib/common/mod.ts";
import { PeerError } from "../../lib/peer/mod.ts";
import {
  Channel,
  helloReply,
  parsePeerRequest,
  pongReply,
  PROTOCOL_ERROR_CODES,
  PROTOCOL_VERSION,
  ProtocolError,
  REMOTE_ERROR_CODES,
  RemoteError,
  serveRequests,
  TicketError,
} from "../../lib/protocol/mod.ts";
import { HashBusyError } from "../../lib/tracker/password.ts";
import { TrackerError } from "../../lib/tracker/tracker_error.ts";

Deno.test("every layer's coded error is a CodedError that keeps its class name and code", () => {
  const errors: [CodedError, string, string][] = [
    [new ProtocolError("TRUNCATED", "Cannot read frame: closed"), "ProtocolError", "TRUNCATED"],
    [new RemoteError("GONE", "Cannot read: gone"), "RemoteError", "GONE"],
    [new TicketError("Cannot accept ticket: expired"), "TicketError", "FORBIDDEN"],
    [new TrackerError("INVALID", "Cannot announce: bad"), "TrackerError", "INVALID"],
    [new HashBusyError(), "HashBusyError", "BUSY"],
    [new PeerError("STALLED", "Cannot download: stalled"), "PeerError", "STALLED"],
  ];
  for (const [error, name, code] of errors) {
    assert.ok(error instanceof CodedError, name);
    assert.ok(error instanceof Error, name);
    assert.equal(error.name, name);
    assert.equal(error.code, code);
    assert.equal(String(error).split(":")[0], name, "the stack and String() name the class");
  }
});

Deno.test("every protocol error code may come back in an error reply", () => {
  for (const code of PROTOCOL_ERROR_CODES) assert.ok(REMOTE_ERROR_CODES.includes(code), code);
});

Deno.test("RemoteError carries a code this version does not know as UNKNOWN and keeps the code as sent", () => {
  const known = new RemoteError("RATE_LIMITED", "Cannot log in: too many attempts");
  assert.equal(known.code, "RATE_LIMITED");
  assert.equal(known.sentCode, "RATE_LIMITED");
  const newer = new RemoteError("QUOTA_EXCEEDED", "Cannot announce: over quota");
  assert.equal(newer.code, "UNKNOWN");
  assert.equal(newer.sentCode, "QUOTA_EXCEEDED");
  assert.equal(newer.message, "Cannot announce: over quota");
});

/**
 * Serves one connection on loopback whose every request after `hello` is refused with `refusal`,
 * and returns what a client's request turns into.
 */
async function refusedRequest(refusal: Error & { code: string }): Promise<unknown> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  const served = (async () => {
    const conn = await listener.accept();
    await serveRequests(new Channel(conn), {
      side: "peer",
      parse: (message) => parsePeerRequest(message as Record<string, unknown>),
      hello: () => ({ type: "hello", version: PROTOCOL_VERSION, server: "peer" }),
      isRefusal: (error): error is Error & { code: string } => error === refusal,
      handle: () => Promise.reject(refusal),
      idleMs: () => 60_000,
    });
  })();
  using client = new Channel(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  await client.request({ type: "hello", version: PROTOCOL_VERSION }, helloReply);
  const outcome = await client.request({ type: "ping", nonce: 1 }, pongReply).catch((e) => e);
  client.close();
  await served;
  return outcome;
}

Deno.test("a refusal a server sends comes back to the client as a RemoteError with the same code", async () => {
  const error = await refusedRequest(new TicketError("Cannot accept ticket: it has expired"));
  assert.ok(error instanceof RemoteError, String(error));
  assert.equal(error.code, "FORBIDDEN");
  assert.equal(error.message, "Cannot accept ticket: it has expired");
});

Deno.test("a refusal with a code from a newer version comes back as an UNKNOWN RemoteError", async () => {
  class NewerRefusal extends CodedError<"QUOTA_EXCEEDED"> {}
  const error = await refusedRequest(new NewerRefusal("QUOTA_EXCEEDED", "Cannot ping: over quota"));
  assert.ok(error instanceof RemoteError, String(error));
  assert.equal(error.code, "UNKNOWN");
  assert.equal(error.sentCode, "QUOTA_EXCEEDED");
  assert.equal(error.message, "Cannot ping: over quota");
});
