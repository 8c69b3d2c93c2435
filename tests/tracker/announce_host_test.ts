import assert from "node:assert/strict";
import { TrackerClient } from "../../lib/peer/mod.ts";
import {
  announceReply,
  peerReply,
  sessionReply,
  type TrackerRequest,
} from "../../lib/protocol/mod.ts";
import type { RequestContext } from "../../lib/tracker/mod.ts";
import {
  KvTrackerStore,
  startTracker,
  TrackerError,
  TrackerService,
} from "../../lib/tracker/mod.ts";

const PASSWORD = "password1";

async function setup(trustAnnouncedHosts?: boolean) {
  const store = await KvTrackerStore.open(":memory:");
  const service = new TrackerService(
    store,
    trustAnnouncedHosts === undefined ? {} : { trustAnnouncedHosts },
  );
  await service.handle({ type: "register", username: "ann", password: PASSWORD });
  await service.handle({ type: "register", username: "bob", password: PASSWORD });
  const login = async (username: string) =>
    sessionReply(await service.handle({ type: "login", username, password: PASSWORD }), "login")
      .token;
  return {
    store,
    service,
    ann: await login("ann"),
    bob: await login("bob"),
    [Symbol.asyncDispose]: () => store[Symbol.asyncDispose](),
  };
}

/** `announce` with the given host from a connection at `address`. */
function announce(
  token: string,
  host: string,
  address: string | undefined,
): [TrackerRequest, RequestContext] {
  return [
    { type: "announce", token, host, port: 7071, replace: true, files: [] },
    address === undefined ? {} : { address },
  ];
}

Deno.test("announce records the address the connection comes from, not the host the peer names", async () => {
  await using t = await setup();
  const reply = announceReply(
    await t.service.handle(...announce(t.ann, "10.1.2.3", "192.0.2.7")),
    "announce",
  );
  assert.deepEqual(reply, { type: "ok", host: "192.0.2.7", port: 7071 });
  const where = peerReply(
    await t.service.handle({ type: "locate", token: t.bob, user: "ann" }),
    "locate",
  );
  assert.equal(where.host, "192.0.2.7");
  assert.equal(where.port, 7071, "the peer still chooses its port");
});

Deno.test("announce records the named host when the tracker trusts announced hosts", async () => {
  await using t = await setup(true);
  const reply = announceReply(
    await t.service.handle(...announce(t.ann, "peer-1.lab.example", "192.0.2.7")),
    "announce",
  );
  assert.deepEqual(reply, { type: "ok", host: "peer-1.lab.example", port: 7071 });
  const where = peerReply(
    await t.service.handle({ type: "locate", token: t.bob, user: "ann" }),
    "locate",
  );
  assert.equal(where.host, "peer-1.lab.example");
});

Deno.test("announce from an in-process caller with no connection address records the named host", async () => {
  await using t = await setup();
  const reply = announceReply(
    await t.service.handle(...announce(t.ann, "10.1.2.3", undefined)),
    "announce",
  );
  assert.equal(reply.host, "10.1.2.3");
});

Deno.test("a peer record stored before hosts were checked, with an escape sequence, is never handed out", async () => {
  await using t = await setup();
  await t.service.handle(...announce(t.ann, "10.1.2.3", "192.0.2.7"));
  const record = await t.store.getPeer("ann");
  assert.ok(record);
  await t.store.putPeer("ann", { ...record, host: "evil\u001b[2J.example" });
  assert.equal(await t.store.getPeer("ann"), null);
  assert.equal((await t.store.listPeers()).has("ann"), false);
  await assert.rejects(
    t.service.handle({ type: "locate", token: t.bob, user: "ann" }),
    (error) => error instanceof TrackerError && error.code === "NOT_FOUND",
  );
});

/** Whether this machine can listen on `::` (dual stack). */
function canListenOnIPv6(): boolean {
  try {
    Deno.listen({ hostname: "::", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a tracker listening on '::' records an IPv4 peer's address in its IPv4 form",
  ignore: !canListenOnIPv6(),
  async fn() {
    await using tracker = await startTracker({ hostname: "::", port: 0, kvPath: ":memory:" });
    await using client = await TrackerClient.connect({
      hostname: "127.0.0.1",
      port: tracker.addr.port,
    });
    await client.register("ann", PASSWORD);
    const session = await client.login("ann", PASSWORD);
    const recorded = await client.announce(session.token, { host: "10.1.2.3", port: 7071 }, []);
    assert.deepEqual(recorded, { host: "127.0.0.1", port: 7071 });
    assert.equal((await client.locate(session.token, "ann")).host, "127.0.0.1");
    await client.logout(session.token);
  },
});
