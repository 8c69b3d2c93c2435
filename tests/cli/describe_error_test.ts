import assert from "node:assert/strict";
import { describeError } from "../../lib/cli/describe_error.ts";
import { PeerError } from "../../lib/peer/mod.ts";
import { RemoteError } from "../../lib/protocol/mod.ts";

const wrong = new RemoteError("AUTH_FAILED", "Cannot log in: wrong user name or password");

Deno.test("describeError() points at P2PFS_PASSWORD when the password came from it", () => {
  assert.match(describeError(wrong), /check --user and P2PFS_PASSWORD/);
});

Deno.test("describeError() does not blame P2PFS_PASSWORD for a password typed at the prompt", () => {
  const text = describeError(wrong, { typedPassword: true });
  assert.doesNotMatch(text, /P2PFS_PASSWORD/);
  assert.match(text, /check --user and the password you typed/);
});

Deno.test("describeError() does not add 'is the tracker running?' to an HTTP server's answer", () => {
  const text = describeError(
    new PeerError(
      "TRACKER_UNREACHABLE",
      "Cannot talk to tracker at 127.0.0.1:7080: it is an HTTP server (probably the tracker's dashboard)",
    ),
  );
  assert.doesNotMatch(text, /is the tracker running/);
});
