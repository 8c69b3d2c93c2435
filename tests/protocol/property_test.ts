/**
 * Property-based tests of everything that reads bytes or messages from the other side: the frame
 * decoder, `decodeMessage`, the request parsers and every schema in `messages.ts`. Whatever comes
 * in (random bytes in any chunking, random JSON, mutated valid messages) the only thing that may
 * be thrown is a {@link ProtocolError}. Runs are bounded so the file takes a few seconds.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type ByteReader,
  decodeFrameLength,
  decodeMessage,
  encodeFrame,
  encodeMessage,
  FRAME_HEADER_BYTES,
  FrameReader,
  parsePeerRequest,
  parseTrackerRequest,
  ProtocolError,
  type Schema,
} from "../../lib/protocol/mod.ts";
import * as messages from "../../lib/protocol/messages.ts";

const RUNS = 1000;
const encoder = new TextEncoder();

/** Fails the property unless `run` returns or throws a {@link ProtocolError}. */
function onlyProtocolErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw new Error(`expected only ProtocolError, got ${error}`, { cause: error });
    }
  }
}

/** The async version of {@link onlyProtocolErrors}. */
async function onlyProtocolErrorsAsync(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw new Error(`expected only ProtocolError, got ${error}`, { cause: error });
    }
  }
}

/** A byte source that hands `bytes` out in pieces whose sizes cycle through `pieces`. */
class ChunkedReader implements ByteReader {
  readonly #bytes: Uint8Array;
  readonly #pieces: number[];
  #at = 0;
  #turn = 0;

  constructor(bytes: Uint8Array, pieces: number[]) {
    this.#bytes = bytes;
    this.#pieces = pieces.length > 0 ? pieces : [bytes.length || 1];
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#at >= this.#bytes.length) return Promise.resolve(null);
    const piece = Math.max(1, this.#pieces[this.#turn++ % this.#pieces.length]!);
    const n = Math.min(p.length, piece, this.#bytes.length - this.#at);
    p.set(this.#bytes.subarray(this.#at, this.#at + n));
    this.#at += n;
    return Promise.resolve(n);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Piece sizes for a {@link ChunkedReader}: mostly tiny (1-byte reads), some large. */
const chunkings = fc.array(
  fc.oneof(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 4096 })),
  {
    minLength: 1,
    maxLength: 8,
  },
);

// Valid messages, to mutate.

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const username = fc.stringMatching(/^[A-Za-z0-9_.-]{1,32}$/).filter((n) => n !== "." && n !== "..");
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/);
const segment = fc.stringMatching(/^[A-Za-z0-9 _.-]{1,12}$/).filter((s) => s !== "." && s !== "..");
const fileName = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));
const size = fc.nat({ max: 2 ** 40 });
const manifest = fc.record({
  name: fileName,
  size,
  chunkSize: fc.integer({ min: 1, max: 1 << 30 }),
  sha256: hex64,
  chunkHashes: fc.array(hex64, { maxLength: 4 }),
});

/** One valid message of every tracker request type. */
const trackerRequest: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    { type: fc.constant("hello"), version: fc.nat(), agent: fc.string({ maxLength: 64 }) },
    {
      requiredKeys: ["type", "version"],
    },
  ),
  fc.record({
    type: fc.constantFrom("register", "login"),
    username,
    password: fc.string({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ type: fc.constantFrom("logout", "heartbeat"), token }),
  fc.record({
    type: fc.constant("announce"),
    token,
    host: fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()),
    port: fc.integer({ min: 1, max: 65535 }),
    replace: fc.boolean(),
    files: fc.array(manifest, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant("list"),
    token,
    search: fc.string({ maxLength: 256 }),
    all: fc.boolean(),
  }, { requiredKeys: ["type", "token"] }),
  fc.record({
    type: fc.constant("details"),
    token,
    name: fileName,
    sha256: hex64,
    version: fc.stringMatching(/^[0-9a-f]{4,64}$/),
  }, { requiredKeys: ["type", "token", "name"] }),
  fc.record({ type: fc.constant("locate"), token, user: username }),
  fc.record({
    type: fc.constant("report"),
    token,
    name: fileName,
    sha256: hex64,
    id: hex64,
    source: username,
    ok: fc.boolean(),
    bytes: size,
    reason: fc.constantFrom("refused", "timeout", "corrupt", "closed", "not_found", "stale"),
  }, { requiredKeys: ["type", "token", "name", "sha256", "id", "source", "ok", "bytes"] }),
);

/** One valid message of every peer request type. */
const peerRequest: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant("hello"), version: fc.nat() }),
  fc.record({ type: fc.constant("ping"), nonce: fc.nat() }),
  fc.record({
    type: fc.constant("ticket"),
    ticket: fc.tuple(
      fc.stringMatching(/^[A-Za-z0-9_-]{1,300}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{86}$/),
    ).map(([head, tail]) => `${head}.${tail}`),
    proof: fc.stringMatching(/^[A-Za-z0-9_-]{86}$/),
  }),
  fc.record({
    type: fc.constant("read"),
    name: fileName,
    sha256: hex64,
    offset: size,
    length: size,
  }),
);

/** Any JSON value, including nesting, odd keys (`__proto__`, `type`) and big numbers. */
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3, withBigInt: false, withNullPrototype: true, withObjectString: true }),
);

/** A field value that is wrong in an interesting way more often than a uniform pick would be. */
const badValue = fc.oneof(
  jsonish,
  fc.constantFrom(
    null,
    "",
    -1,
    0,
    1.5,
    2 ** 53,
    Number.NaN,
    "../etc/passwd",
    "a".repeat(2000),
    [],
    {},
    "x\u0000y",
  ),
);

/** A mutation of a valid message: a field dropped, replaced, added, or the type swapped. */
function mutate(
  base: fc.Arbitrary<Record<string, unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(base, fc.nat(), badValue, fc.string({ maxLength: 12 }), fc.nat({ max: 3 })).map(
    ([message, pick, value, key, how]) => {
      const out: Record<string, unknown> = { ...message };
      const keys = Object.keys(out);
      const field = keys[pick % keys.length]!;
      if (how === 0) delete out[field];
      else if (how === 1) out[field] = value;
      else if (how === 2) out[key] = value;
      else {
        out.type = ["hello", "ping", "read", "list", "details", "announce", "report", "x"][
          pick % 8
        ];
      }
      // Nested manifests and arrays get mutated too, now and then.
      if (Array.isArray(out.files) && out.files.length > 0 && pick % 3 === 0) {
        const files = [...out.files] as Record<string, unknown>[];
        files[0] = { ...files[0], [keys[pick % keys.length] ?? "name"]: value };
        out.files = files;
      }
      return out;
    },
  );
}

/** Byte-level damage: a flipped byte, a cut, or inserted bytes. */
function damage(bytes: Uint8Array, at: number, how: number, noise: Uint8Array): Uint8Array {
  if (bytes.length === 0) return noise;
  const i = at % bytes.length;
  if (how === 0) {
    const out = bytes.slice();
    out[i] = out[i]! ^ (noise[0] ?? 0xff);
    return out;
  }
  if (how === 1) return bytes.slice(0, i);
  return concat([bytes.subarray(0, i), noise, bytes.subarray(i)]);
}

/** `value` with plain prototypes throughout (fast-check's records may have null prototypes). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** Every exported schema of `messages.ts`: the functions taking `(value, path)`. */
function exportedSchemas(): [string, Schema<unknown>][] {
  const found: [string, Schema<unknown>][] = [];
  for (const [name, value] of Object.entries(messages as Record<string, unknown>)) {
    if (typeof value === "function" && value.length === 2) {
      found.push([name, value as Schema<unknown>]);
    }
  }
  return found;
}

// The frame decoder.

Deno.test("FrameReader reads back every frame it was given, whatever the chunking of the stream", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
      chunkings,
      async (bodies, pieces) => {
        const stream = concat(bodies.map((body) => encodeFrame(body)));
        const reader = new FrameReader(new ChunkedReader(stream, pieces), { bufferBytes: 16 });
        for (const body of bodies) assert.deepEqual(await reader.readFrame(), body);
        assert.equal(await reader.readFrame(), null);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("FrameReader keeps frames and raw bytes between them apart, whatever the chunking", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 500 })), {
        maxLength: 6,
      }),
      chunkings,
      async (parts, pieces) => {
        const stream = concat(parts.flatMap(([body, raw]) => [encodeFrame(body), raw]));
        const reader = new FrameReader(new ChunkedReader(stream, pieces), { bufferBytes: 32 });
        for (const [body, raw] of parts) {
          assert.deepEqual(await reader.readFrame(), body);
          const got = new Uint8Array(raw.length);
          await reader.readExact(got);
          assert.deepEqual(got, raw);
        }
        assert.equal(await reader.readFrame(), null);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("FrameReader throws nothing but ProtocolError on arbitrary bytes and never returns an oversize body", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 2000 }),
      chunkings,
      fc.integer({ min: 0, max: 512 }),
      async (bytes, pieces, maxFrameBytes) => {
        const reader = new FrameReader(new ChunkedReader(bytes, pieces), { maxFrameBytes });
        await onlyProtocolErrorsAsync(async () => {
          for (let frames = 0; frames <= bytes.length; frames++) {
            const body = await reader.readFrame();
            if (body === null) return;
            assert.ok(body.length <= maxFrameBytes);
          }
          assert.fail("more frames than bytes");
        });
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("FrameReader reports a stream cut anywhere inside a frame as TRUNCATED", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc.nat(),
      chunkings,
      async (body, cut, pieces) => {
        const frame = encodeFrame(body);
        const at = 1 + (cut % (frame.length - 1)); // 1 .. length-1: never empty, never whole
        const reader = new FrameReader(new ChunkedReader(frame.subarray(0, at), pieces));
        await assert.rejects(
          reader.readFrame(),
          (error) => error instanceof ProtocolError && error.code === "TRUNCATED",
        );
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("decodeFrameLength() returns a length within the limit or throws ProtocolError for any header", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 8 }), fc.nat(), (header, maxBytes) => {
      onlyProtocolErrors(() => {
        const length = decodeFrameLength(header, maxBytes);
        assert.ok(header.length >= FRAME_HEADER_BYTES && length <= maxBytes);
      });
    }),
    { numRuns: RUNS * 3 },
  );
});

// Messages.

Deno.test("decodeMessage() throws nothing but ProtocolError on arbitrary bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      onlyProtocolErrors(() => decodeMessage(bytes));
    }),
    { numRuns: RUNS * 3 },
  );
});

Deno.test("decodeMessage() throws nothing but ProtocolError on any JSON text, invalid UTF-8 included", () => {
  fc.assert(
    fc.property(
      fc.json({ maxDepth: 5 }),
      fc.nat(),
      fc.nat({ max: 3 }),
      fc.uint8Array({ minLength: 1, maxLength: 4 }),
      (text, at, how, noise) => {
        const bytes = encoder.encode(text);
        onlyProtocolErrors(() => decodeMessage(bytes));
        onlyProtocolErrors(() => decodeMessage(damage(bytes, at, how, noise)));
        const message = (() => {
          try {
            return decodeMessage(bytes);
          } catch {
            return undefined;
          }
        })();
        if (message) {
          onlyProtocolErrors(() => parseTrackerRequest(message));
          onlyProtocolErrors(() => parsePeerRequest(message));
        }
      },
    ),
    { numRuns: RUNS * 2 },
  );
});

Deno.test("deeply nested JSON decodes (it is JSON), and the request parsers refuse it with a ProtocolError, never a crash", () => {
  for (const depth of [1_000, 100_000]) {
    const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    for (const type of ["x", "list", "read"]) {
      const message = decodeMessage(
        encoder.encode(`{"type":"${type}","token":${nested},"name":${nested}}`),
      );
      assert.equal(message.type, type);
      for (const parse of [parseTrackerRequest, parsePeerRequest]) {
        assert.throws(() => parse(message), (error) => error instanceof ProtocolError);
      }
    }
  }
});

Deno.test("valid tracker requests survive encodeMessage, decodeMessage and parseTrackerRequest unchanged", () => {
  fc.assert(
    fc.property(trackerRequest, (request) => {
      const frame = encodeMessage(request as { type: string });
      const decoded = decodeMessage(frame.subarray(FRAME_HEADER_BYTES));
      assert.deepEqual(parseTrackerRequest(decoded), plain(request));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("valid peer requests survive encodeMessage, decodeMessage and parsePeerRequest unchanged", () => {
  fc.assert(
    fc.property(peerRequest, (request) => {
      const frame = encodeMessage(request as { type: string });
      const decoded = decodeMessage(frame.subarray(FRAME_HEADER_BYTES));
      assert.deepEqual(parsePeerRequest(decoded), plain(request));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("parseTrackerRequest() and parsePeerRequest() throw nothing but ProtocolError on mutated valid messages", () => {
  fc.assert(
    fc.property(mutate(fc.oneof(trackerRequest, peerRequest)), (message) => {
      onlyProtocolErrors(() => parseTrackerRequest(message));
      onlyProtocolErrors(() => parsePeerRequest(message));
    }),
    { numRuns: RUNS * 3 },
  );
});

Deno.test("parseTrackerRequest() and parsePeerRequest() throw nothing but ProtocolError on arbitrary values", () => {
  fc.assert(
    fc.property(
      fc.oneof(jsonish, fc.dictionary(fc.string({ maxLength: 8 }), badValue, { maxKeys: 8 })),
      fc.constantFrom(
        "hello",
        "register",
        "login",
        "logout",
        "announce",
        "heartbeat",
        "list",
        "details",
        "locate",
        "report",
        "ping",
        "ticket",
        "read",
        "__proto__",
        "constructor",
      ),
      (value, type) => {
        const record = (typeof value === "object" && value !== null ? value : { value }) as Record<
          string,
          unknown
        >;
        onlyProtocolErrors(() => parseTrackerRequest(record));
        onlyProtocolErrors(() => parsePeerRequest(record));
        const typed = { ...record, type };
        onlyProtocolErrors(() => parseTrackerRequest(typed));
        onlyProtocolErrors(() => parsePeerRequest(typed));
      },
    ),
    { numRuns: RUNS * 2 },
  );
});

Deno.test("mutated bytes of encoded valid requests never make the decoders throw anything but ProtocolError", () => {
  fc.assert(
    fc.property(
      fc.oneof(trackerRequest, peerRequest),
      fc.nat(),
      fc.nat({ max: 2 }),
      fc.uint8Array({ minLength: 1, maxLength: 6 }),
      (request, at, how, noise) => {
        const body = encodeMessage(request as { type: string }).subarray(FRAME_HEADER_BYTES);
        onlyProtocolErrors(() => {
          const message = decodeMessage(damage(body, at, how, noise));
          onlyProtocolErrors(() => parseTrackerRequest(message));
          onlyProtocolErrors(() => parsePeerRequest(message));
        });
      },
    ),
    { numRuns: RUNS * 2 },
  );
});

Deno.test("every schema exported by messages.ts throws nothing but ProtocolError on arbitrary and mutated values", () => {
  const schemas = exportedSchemas();
  // The reply schemas the clients use, at least; new schemas are picked up by themselves.
  for (
    const name of [
      "helloReply",
      "okReply",
      "sessionReply",
      "filesReply",
      "fileSummary",
      "detailsReply",
      "holderInfo",
      "peerReply",
      "pongReply",
      "dataReply",
      "errorReply",
      "fileManifest",
      "failureReason",
    ]
  ) {
    assert.ok(schemas.some(([found]) => found === name), `schema ${name} is exported`);
  }
  const validReplies: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
    fc.record({
      type: fc.constant("hello"),
      version: fc.nat(),
      server: fc.constantFrom("tracker", "peer"),
    }),
    fc.record({ type: fc.constant("ok") }),
    fc.record({
      type: fc.constant("session"),
      token,
      user: username,
      expiresAt: fc.nat(),
      heartbeatMs: fc.integer({ min: 1 }),
      trackerKey: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    }),
    fc.record({
      type: fc.constant("files"),
      files: fc.array(
        fc.record({ name: fileName, size, sha256: hex64, id: hex64, sources: fc.nat() }),
        {
          maxLength: 3,
        },
      ),
    }),
    fc.record({
      type: fc.constant("details"),
      name: fileName,
      id: hex64,
      size,
      sha256: hex64,
      chunkSize: fc.integer({ min: 1 }),
      chunkHashes: fc.array(hex64, { maxLength: 3 }),
      peers: fc.array(
        fc.record({
          user: username,
          host: fc.string({ minLength: 1, maxLength: 20 }),
          port: fc.integer({ min: 1, max: 65535 }),
          online: fc.boolean(),
          lastSeen: fc.nat(),
          downloads: fc.double({ min: 0, max: 1e6, noNaN: true }),
          failures: fc.nat(),
        }),
        { maxLength: 3 },
      ),
      versions: fc.array(
        fc.record({
          id: hex64,
          sha256: hex64,
          size,
          chunkSize: fc.integer({ min: 1 }),
          holders: fc.nat(),
          online: fc.nat(),
          downloads: fc.nat(),
        }),
        { maxLength: 3 },
      ),
    }),
    fc.record({
      type: fc.constant("peer"),
      user: username,
      host: fc.string({ minLength: 1, maxLength: 20 }),
      port: fc.integer({ min: 1, max: 65535 }),
      online: fc.boolean(),
    }),
    fc.record({ type: fc.constant("pong"), nonce: fc.nat() }),
    fc.record({ type: fc.constant("data"), offset: size, length: size }),
    fc.record({
      type: fc.constant("error"),
      code: fc.string({ maxLength: 64 }),
      message: fc.string({ maxLength: 200 }),
    }),
  );
  fc.assert(
    fc.property(
      fc.oneof(jsonish, mutate(validReplies), mutate(fc.oneof(trackerRequest, manifest))),
      (value) => {
        for (const [, schema] of schemas) onlyProtocolErrors(() => schema(value, "message"));
      },
    ),
    { numRuns: RUNS * 2 },
  );
});
