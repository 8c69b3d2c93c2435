import assert from "node:assert/strict";
import {
  Channel,
  encodeFrame,
  filesReply,
  FRAME_HEADER_BYTES,
  GroupCap,
  helloReply,
  MAX_FRAME_BYTES,
  type Message,
  okReply,
  PROTOCOL_VERSION,
  sessionReply,
} from "../../lib/protocol/mod.ts";
import {
  type ConnectionOptions,
  KvTrackerStore,
  serveTrackerConnection,
  TrackerService,
} from "../../lib/tracker/mod.ts";

const encoder = new TextEncoder();

/** A tracker service on an in-memory store, listening on a loopback port. */
async function startService() {
  const store = await KvTrackerStore.open(":memory:");
  const service = new TrackerService(store, { heartbeatMs: 5_000 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const logs: string[] = [];
  return {
    service,
    logs,
    /**
     * Opens a client connection served by `serveTrackerConnection()`. Disposing it closes the
     * client and waits until the server side has finished.
     */
    async connect(options: ConnectionOptions = {}) {
      const accepted = listener.accept();
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      const served = serveTrackerConnection(await accepted, service, {
        onLog: (line) => logs.push(line),
        ...options,
      });
      const channel = new Channel(conn);
      return {
        conn,
        channel,
        served,
        async [Symbol.asyncDispose]() {
          channel.close();
          await served;
        },
      };
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await store[Symbol.asyncDispose]();
    },
  };
}

async function receiveError(channel: Channel, code: string): Promise<Message> {
  const reply = await channel.receive();
  assert.ok(reply, `expected an ${code} error reply, got end of stream`);
  assert.equal(reply.type, "error", JSON.stringify(reply));
  assert.equal(reply.code, code, JSON.stringify(reply));
  assert.equal(typeof reply.message, "string");
  return reply;
}

async function hello(channel: Channel): Promise<void> {
  const reply = await channel.request({ type: "hello", version: PROTOCOL_VERSION }, helloReply);
  assert.equal(reply.server, "tracker");
  assert.equal(reply.version, PROTOCOL_VERSION);
  assert.equal(reply.heartbeatMs, 5_000);
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(0, length, false);
  return bytes;
}

/** Registers, logs in and lists over `channel`: the whole happy path of a client. */
async function useNormally(channel: Channel, username: string): Promise<void> {
  await hello(channel);
  await channel.request({ type: "register", username, password: "password1" }, okReply);
  const session = await channel.request(
    { type: "login", username, password: "password1" },
    sessionReply,
  );
  await channel.request({ type: "heartbeat", token: session.token }, okReply);
  const list = await channel.request({ type: "list", token: session.token, all: true }, filesReply);
  assert.deepEqual(list.files, []);
  await channel.request({ type: "logout", token: session.token }, okReply);
}

Deno.test("serveTrackerConnection() answers a request before hello with an error and closes", async () => {
  await using tracker = await startService();
  await using client = await tracker.connect();
  await client.channel.send({ type: "register", username: "ann", password: "password1" });
  const reply = await receiveError(client.channel, "BAD_MESSAGE");
  assert.match(String(reply.message), /hello/);
  assert.equal(await client.channel.receive(), null);
  await client.served;
});

Deno.test("serveTrackerConnection() answers a malformed first frame with an error and closes", async () => {
  await using tracker = await startService();
  await using client = await tracker.connect();
  await client.channel.sendRaw(encodeFrame(encoder.encode("not json")));
  await receiveError(client.channel, "BAD_JSON");
  assert.equal(await client.channel.receive(), null);
});

Deno.test("serveTrackerConnection() answers another protocol version with VERSION_MISMATCH", async () => {
  await using tracker = await startService();
  await using client = await tracker.connect();
  await client.channel.send({ type: "hello", version: PROTOCOL_VERSION + 1 });
  await receiveError(client.channel, "VERSION_MISMATCH");
  assert.equal(await client.channel.receive(), null);
  await client.served;
});

Deno.test("serveTrackerConnection() answers bad frames after hello and keeps serving", async () => {
  await using tracker = await startService();
  await using client = await tracker.connect();
  const { channel } = client;
  await hello(channel);

  await channel.sendRaw(encodeFrame(encoder.encode('{"type":"list",')));
  await receiveError(channel, "BAD_JSON");
  await channel.sendRaw(encodeFrame(new Uint8Array([0xff, 0xfe, 0xfd])));
  await receiveError(channel, "BAD_JSON");
  await channel.sendRaw(encodeFrame(encoder.encode("[1,2]")));
  await receiveError(channel, "BAD_MESSAGE");
  await channel.send({ type: "teleport" });
  await receiveError(channel, "UNKNOWN_TYPE");
  await channel.send({ type: "register", username: "../ann", password: "password1" });
  await receiveError(channel, "BAD_MESSAGE");
  await channel.send({ type: "list", token: "forged" });
  await receiveError(channel, "BAD_TOKEN");

  await channel.request({ type: "register", username: "ann", password: "password1" }, okReply);
  const session = await channel.request(
    { type: "login", username: "ann", password: "password1" },
    sessionReply,
  );
  await channel.request({ type: "logout", token: session.token }, okReply);
  assert.ok(tracker.logs.some((line) => line.includes("not UTF-8 JSON")));
});

Deno.test("serveTrackerConnection() answers an oversize length prefix with FRAME_TOO_LARGE and closes", async () => {
  await using tracker = await startService();
  await using client = await tracker.connect();
  await hello(client.channel);
  await client.channel.sendRaw(header(MAX_FRAME_BYTES + 1));
  const reply = await receiveError(client.channel, "FRAME_TOO_LARGE");
  assert.match(String(reply.message), new RegExp(`${MAX_FRAME_BYTES + 1}`));
  assert.equal(await client.channel.receive(), null);
  await client.served;
});

Deno.test("serveTrackerConnection() answers a frame cut off by end of stream with TRUNCATED", async () => {
  await using tracker = await startService();
  await using client = await tracker.connect();
  await hello(client.channel);
  await client.channel.sendRaw(header(100));
  await client.channel.sendRaw(new Uint8Array(10));
  await client.conn.closeWrite();
  await receiveError(client.channel, "TRUNCATED");
  assert.equal(await client.channel.receive(), null);
  await client.served;
});

Deno.test("serveTrackerConnection() serves a fresh connection after others misbehaved", async () => {
  await using tracker = await startService();
  {
    await using client = await tracker.connect();
    await client.channel.send({ type: "list", token: "abc" });
    await receiveError(client.channel, "BAD_MESSAGE");
  }
  {
    await using client = await tracker.connect();
    await client.channel.send({ type: "hello", version: 999 });
    await receiveError(client.channel, "VERSION_MISMATCH");
  }
  {
    await using client = await tracker.connect();
    await hello(client.channel);
    await client.channel.sendRaw(encodeFrame(encoder.encode("{{{")));
    await receiveError(client.channel, "BAD_JSON");
    await client.channel.sendRaw(header(0xffff_ffff));
    await receiveError(client.channel, "FRAME_TOO_LARGE");
  }
  {
    // A client that vanishes without a word.
    await using client = await tracker.connect();
    client.conn.close();
    await client.served;
  }
  await using client = await tracker.connect();
  await useNormally(client.channel, "ann");
});

Deno.test("serveTrackerConnection() lets one account hold at most its cap of connections, whatever the spelling", async () => {
  await using tracker = await startService();
  const accounts = new GroupCap(1);
  await using first = await tracker.connect({ accounts });
  await hello(first.channel);
  await first.channel.request(
    { type: "register", username: "mallory", password: "password1" },
    okReply,
  );
  const session = await first.channel.request(
    { type: "login", username: "mallory", password: "password1" },
    sessionReply,
  );
  await using second = await tracker.connect({ accounts });
  await hello(second.channel);
  await second.channel.send({ type: "whoami", token: session.token });
  await receiveError(second.channel, "BUSY");
  await second.channel.send({ type: "login", username: "MALLORY", password: "password1" });
  await receiveError(second.channel, "BUSY");
  // The connection goes on, not logged in: another account may log in on it.
  await second.channel.request(
    { type: "register", username: "bob", password: "password1" },
    okReply,
  );
  await second.channel.request(
    { type: "login", username: "bob", password: "password1" },
    sessionReply,
  );
  // Once mallory's first connection closes, her next one is let in.
  await first[Symbol.asyncDispose]();
  await using third = await tracker.connect({ accounts });
  await hello(third.channel);
  await third.channel.send({ type: "whoami", token: session.token });
  const reply = await third.channel.receive();
  assert.notEqual(reply?.type, "error", JSON.stringify(reply));
  assert.equal(accounts.of("mallory"), 1);
});
