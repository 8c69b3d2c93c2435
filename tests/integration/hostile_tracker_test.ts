/**
 * A hostile tracker, end to end: a small server in the test speaks the real wire protocol (hello,
 * login, list, details, logout, through `lib/protocol`'s {@link Channel}) and answers `details`
 * with what it likes: another file's name (`.ssh/authorized_keys` when asked for `notes.txt`), a
 * name outside the `--prefix` asked for, a 1 TiB chunk size, a version id that is not its
 * manifest's. A real `get` process refuses each with one clear line and writes nothing in its
 * download folder; `downloadFile` called directly refuses them too.
 *
 * @module
 */
import assert from "node:assert/strict";
import { downloadFile, PeerError } from "../../lib/peer/mod.ts";
import {
  Channel,
  EMPTY_SHA256,
  type FileDetails,
  manifestId,
  type Message,
  PROTOCOL_VERSION,
} from "../../lib/protocol/mod.ts";
import { errorLine, makeTempDir, runAs, sha256Hex } from "./_harness.ts";

const TiB = 1024 ** 4;
const encoder = new TextEncoder();

/** Details of a file holding `text`, under `name`, with a consistent manifest and one holder. */
function honestDetails(name: string, text: string): FileDetails {
  const bytes = encoder.encode(text);
  const shape = {
    size: bytes.length,
    chunkSize: 1024 * 1024,
    sha256: sha256Hex(bytes),
    chunkHashes: bytes.length ? [sha256Hex(bytes)] : [],
  };
  return {
    type: "details",
    name,
    id: manifestId(shape),
    ...shape,
    peers: [{
      user: "mallory",
      host: "127.0.0.1",
      port: 9,
      online: true,
      lastSeen: Date.now(),
      downloads: 0,
      failures: 0,
    }],
    versions: [],
  };
}

/** A file whose `.part` would be 1 TiB: one chunk of 1 TiB, with the id of that manifest. */
function terabyteDetails(name: string): FileDetails {
  const shape = {
    size: TiB,
    chunkSize: TiB,
    sha256: "ab".repeat(32),
    chunkHashes: ["cd".repeat(32)],
  };
  return { ...honestDetails(name, "x"), ...shape, id: manifestId(shape) };
}

/**
 * A fake tracker on 127.0.0.1, port 0: any login succeeds, `list` lists `listed`, and `details`
 * is answered by `answer` (given the name asked for). Closed on dispose.
 */
function fakeTracker(
  answer: (name: string) => FileDetails,
  listed: string[] = [],
): { port: number; asked: string[] } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const asked: string[] = [];
  const channels = new Set<Channel>();
  const reply = (request: Message): Record<string, unknown> => {
    switch (request.type) {
      case "hello":
        return { type: "hello", version: PROTOCOL_VERSION, server: "tracker", heartbeatMs: 10_000 };
      case "login":
        return {
          type: "session",
          token: "fake-token",
          user: String(request.username),
          expiresAt: Date.now() + 3_600_000,
          heartbeatMs: 10_000,
          trackerKey: "A".repeat(43),
        };
      case "list":
        return {
          type: "files",
          files: listed.map((name) => {
            const d = answer(name);
            return { name, size: d.size, sha256: d.sha256, id: d.id, sources: 1 };
          }),
        };
      case "details":
        asked.push(String(request.name));
        return { ...answer(String(request.name)) };
      case "logout":
        return { type: "ok" };
      default:
        return { type: "error", code: "BAD_MESSAGE", message: `Cannot answer ${request.type}` };
    }
  };
  const serve = (async () => {
    for await (const conn of listener) {
      const channel = new Channel(conn);
      channels.add(channel);
      (async () => {
        try {
          for (let m = await channel.receive(); m !== null; m = await channel.receive()) {
            await channel.send(reply(m) as never);
          }
        } catch {
          // the client hung up
        } finally {
          channels.delete(channel);
          channel.close();
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    asked,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const channel of channels) channel.close();
      await serve;
    },
  };
}

/** Runs `get ARGS --out OUT` against the fake tracker; asserts it failed and wrote nothing. */
async function refusedGet(port: number, args: string[], out: string): Promise<string> {
  const run = await runAs("dl", `127.0.0.1:${port}`, ["get", ...args, "--out", out, "--no-upload"]);
  assert.notEqual(run.code, 0, run.stdout);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(out)), [], "something was written");
  return errorLine(run.stderr);
}

Deno.test("hostile tracker: details for another name than the one asked for is refused and nothing is written", async () => {
  await using tracker = fakeTracker(() =>
    honestDetails(".ssh/authorized_keys", "ssh-ed25519 AAAA mallory\n")
  );
  await using out = await makeTempDir();
  const line = await refusedGet(tracker.port, ["notes.txt"], out.path);
  assert.match(
    line,
    /^error: Cannot download notes\.txt: the tracker answered for another file \(\.ssh\/authorized_keys\)/,
  );
  assert.deepEqual(tracker.asked, ["notes.txt"]);
});

Deno.test("hostile tracker: under --prefix, details for a name outside the prefix is refused", async () => {
  await using tracker = fakeTracker(
    (name) => honestDetails(name === "docs/a.txt" ? "a.txt" : name, "hello\n"),
    ["docs/a.txt"],
  );
  await using out = await makeTempDir();
  const run = await runAs("dl", `127.0.0.1:${tracker.port}`, [
    "get",
    "--prefix",
    "docs/",
    "--out",
    out.path,
    "--no-upload",
  ]);
  assert.match(
    run.stderr,
    /Cannot download docs\/a\.txt: the tracker answered for another file \(a\.txt\)/,
  );
  assert.notEqual(run.code, 0, run.stdout);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(out.path)), []);
});

Deno.test("hostile tracker: a 1 TiB chunk size is refused before any .part is made", async () => {
  await using tracker = fakeTracker(terabyteDetails);
  await using out = await makeTempDir();
  const line = await refusedGet(tracker.port, ["big.bin"], out.path);
  assert.match(
    line,
    /^error: Cannot download big\.bin: the tracker's manifest does not add up: chunk size 1099511627776 is not a power of two from 64 KiB to 16 MiB/,
  );
});

Deno.test("hostile tracker: a version id that is not its manifest's is refused", async () => {
  await using tracker = fakeTracker((name) => ({
    ...honestDetails(name, "hello\n"),
    id: EMPTY_SHA256,
  }));
  await using out = await makeTempDir();
  const line = await refusedGet(tracker.port, ["notes.txt"], out.path);
  assert.match(
    line,
    /manifest does not add up: version id e3b0c442\w+ is not the id of its manifest/,
  );
});

Deno.test("downloadFile() refuses details that do not add up before it makes any folder or file", async () => {
  await using out = await makeTempDir();
  // Each case names the check that must refuse it, so one refused for another reason fails.
  const cases: [FileDetails, RegExp][] = [
    [terabyteDetails("deep/big.bin"), /chunk size 1099511627776 is not a power of two/],
    [
      { ...honestDetails("deep/a.txt", "hello\n"), size: 7 },
      /does not add up: version id [0-9a-f]{64} is not the id of its manifest/,
    ],
    [
      { ...honestDetails("deep/a.txt", "hello\n"), name: "../a.txt" },
      /answered with a name that is not a safe relative path/,
    ],
  ];
  for (const [details, why] of cases) {
    await assert.rejects(
      downloadFile(details, { outDir: out.path }),
      (error) => {
        assert.ok(error instanceof PeerError, String(error));
        assert.equal(error.code, "BAD_DETAILS", error.message);
        assert.match(error.message, why);
        return true;
      },
    );
  }
  assert.deepEqual(await Array.fromAsync(Deno.readDir(out.path)), []);
});
