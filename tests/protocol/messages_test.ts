import assert from "node:assert/strict";
import {
  decodeMessage,
  encodeHaveMap,
  int,
  isSafeFileName,
  MAX_CHUNKS_PER_FILE,
  MAX_FILES_PER_ANNOUNCE,
  object,
  objectOf,
  optional,
  parsePeerRequest,
  parseTrackerRequest,
  type PeerRequestOf,
  ProtocolError,
  type RequestFields,
  str,
  type TrackerRequestOf,
} from "../../lib/protocol/mod.ts";

const encoder = new TextEncoder();
const HASH_A = "a".repeat(64);
const HASH_B = "0123456789abcdef".repeat(4);
const TOKEN = "abcDEF123_-";

function protocolError(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${error}`);
    assert.equal(error.code, code);
    return true;
  };
}

function manifest(name = "docs/a.txt"): Record<string, unknown> {
  return { name, size: 10, chunkSize: 4, sha256: HASH_A, chunkHashes: [HASH_A, HASH_B, HASH_A] };
}

/** One valid message of every tracker request type. */
function validTrackerRequests(): Record<string, unknown>[] {
  return [
    { type: "hello", version: 1 },
    { type: "hello", version: 1, agent: "p2pfs-test/1" },
    { type: "register", username: "ann", password: "password1" },
    { type: "login", username: "A.n_n-9", password: "x" },
    { type: "logout", token: TOKEN },
    {
      type: "announce",
      token: TOKEN,
      host: "127.0.0.1",
      port: 7071,
      replace: true,
      files: [manifest(), manifest("b")],
    },
    { type: "announce", token: TOKEN, host: "h", port: 1, replace: false, files: [] },
    { type: "heartbeat", token: TOKEN },
    { type: "list", token: TOKEN },
    { type: "list", token: TOKEN, search: "pdf", all: true },
    { type: "details", token: TOKEN, name: "docs/a.txt" },
    { type: "details", token: TOKEN, name: "a.txt", sha256: HASH_B },
    { type: "details", token: TOKEN, name: "a.txt", version: "3f2a" },
    { type: "locate", token: TOKEN, user: "bob" },
    {
      type: "report",
      token: TOKEN,
      name: "a.txt",
      sha256: HASH_A,
      id: HASH_B,
      source: "bob",
      ok: false,
      bytes: 0,
      reason: "corrupt",
    },
    {
      type: "report",
      token: TOKEN,
      name: "a.txt",
      sha256: HASH_A,
      id: HASH_B,
      source: "bob",
      ok: true,
      bytes: 9,
    },
  ];
}

// decodeMessage

Deno.test("decodeMessage() returns a JSON object that has a string type", () => {
  const message = decodeMessage(encoder.encode('{"type":"ping","nonce":3}'));
  assert.deepEqual(message, { type: "ping", nonce: 3 });
});

Deno.test("decodeMessage() rejects a body that is not JSON as BAD_JSON", () => {
  for (const text of ["", "{", "{type:1}", "nope", '{"type":"x"} trailing']) {
    assert.throws(() => decodeMessage(encoder.encode(text)), protocolError("BAD_JSON"));
  }
});

Deno.test("decodeMessage() rejects a body that is not UTF-8 as BAD_JSON", () => {
  const good = encoder.encode('{"type":"x","s":"__"}');
  const bad = good.slice();
  bad.set([0xc3, 0x28], good.indexOf(0x5f)); // an invalid two-byte sequence inside the string
  assert.throws(() => decodeMessage(bad), protocolError("BAD_JSON"));
  assert.throws(() => decodeMessage(new Uint8Array([0xff, 0xfe])), protocolError("BAD_JSON"));
});

Deno.test("decodeMessage() rejects JSON that is not an object as BAD_MESSAGE", () => {
  for (const text of ["[]", '[{"type":"x"}]', "null", "1", '"type"', "true"]) {
    assert.throws(() => decodeMessage(encoder.encode(text)), protocolError("BAD_MESSAGE"));
  }
});

Deno.test("decodeMessage() rejects an object without a string type as BAD_MESSAGE", () => {
  for (const text of ["{}", '{"type":1}', '{"type":null}', '{"kind":"x"}', '{"type":["x"]}']) {
    assert.throws(() => decodeMessage(encoder.encode(text)), protocolError("BAD_MESSAGE"));
  }
});

// parseTrackerRequest: accepted requests

Deno.test("parseTrackerRequest() accepts every valid request type unchanged", () => {
  const seen = new Set<string>();
  for (const message of validTrackerRequests()) {
    assert.deepEqual(parseTrackerRequest(message), message);
    seen.add(message.type as string);
  }
  assert.deepEqual([...seen].sort(), [
    "announce",
    "details",
    "heartbeat",
    "hello",
    "list",
    "locate",
    "login",
    "logout",
    "register",
    "report",
  ]);
});

Deno.test("parseTrackerRequest() accepts limits exactly at their bounds", () => {
  const name = "n".repeat(32);
  assert.equal(
    parseTrackerRequest({ type: "register", username: name, password: "p".repeat(1024) }).type,
    "register",
  );
  const base = { type: "announce", token: TOKEN, host: "h", replace: false, files: [] };
  parseTrackerRequest({ ...base, port: 1 });
  parseTrackerRequest({ ...base, port: 65535 });
  const files = Array.from({ length: MAX_FILES_PER_ANNOUNCE }, (_, i) => manifest(`f${i}`));
  parseTrackerRequest({ ...base, port: 1, files });
  const chunkHashes = Array.from({ length: MAX_CHUNKS_PER_FILE }, () => HASH_A);
  parseTrackerRequest({ ...base, port: 1, files: [{ ...manifest(), chunkHashes }] });
  parseTrackerRequest({ type: "details", token: TOKEN, name: "x".repeat(1024) });
});

// parseTrackerRequest: refused requests

Deno.test("parseTrackerRequest() rejects an unknown type as UNKNOWN_TYPE", () => {
  for (
    const type of ["nope", "", "HELLO", "ping", "read", "__proto__", "constructor", "toString"]
  ) {
    assert.throws(() => parseTrackerRequest({ type, token: TOKEN }), protocolError("UNKNOWN_TYPE"));
  }
  assert.throws(() => parseTrackerRequest({}), protocolError("UNKNOWN_TYPE"));
  assert.throws(() => parseTrackerRequest({ type: 1 }), protocolError("UNKNOWN_TYPE"));
});

Deno.test("parseTrackerRequest() rejects a bad username as BAD_MESSAGE", () => {
  for (const username of ["", "x".repeat(33), "a b", "ann!", "a/b", "émile", "ann\n", 7, null]) {
    for (const type of ["register", "login"]) {
      assert.throws(
        () => parseTrackerRequest({ type, username, password: "password1" }),
        protocolError("BAD_MESSAGE"),
        `${type} with username ${JSON.stringify(username)}`,
      );
    }
  }
  assert.throws(
    () => parseTrackerRequest({ type: "locate", token: TOKEN, user: "../bob" }),
    protocolError("BAD_MESSAGE"),
  );
});

Deno.test("parseTrackerRequest() refuses '.' and '..' as user names but allows dots in a name", () => {
  for (const username of [".", ".."]) {
    for (const type of ["register", "login"]) {
      assert.throws(
        () => parseTrackerRequest({ type, username, password: "password1" }),
        protocolError("BAD_MESSAGE"),
        `${type} with username ${JSON.stringify(username)}`,
      );
    }
  }
  for (const username of ["...", ".ann", "ann.", "a..b"]) {
    assert.equal(
      parseTrackerRequest({ type: "register", username, password: "password1" }).type,
      "register",
    );
  }
});

Deno.test("parseTrackerRequest() rejects unsafe file names as BAD_MESSAGE", () => {
  const names = ["../x", "a/../b", "/abs", "a//b", "a\\b", ".", "a/./b", "a/", "", "a\u0000b"];
  for (const name of names) {
    assert.throws(
      () => parseTrackerRequest({ type: "details", token: TOKEN, name }),
      protocolError("BAD_MESSAGE"),
      `details ${JSON.stringify(name)}`,
    );
    const announce = {
      type: "announce",
      token: TOKEN,
      host: "h",
      port: 1,
      replace: false,
      files: [manifest(name)],
    };
    assert.throws(() => parseTrackerRequest(announce), protocolError("BAD_MESSAGE"));
  }
  assert.throws(
    () => parseTrackerRequest({ type: "details", token: TOKEN, name: "x".repeat(1025) }),
    protocolError("BAD_MESSAGE"),
  );
});

Deno.test("parseTrackerRequest() rejects fields of the wrong type as BAD_MESSAGE", () => {
  const cases: Record<string, unknown>[] = [
    { type: "hello", version: "1" },
    { type: "hello", version: 1.5 },
    { type: "hello", version: -1 },
    { type: "hello", version: 1, agent: 5 },
    { type: "hello", version: 1, agent: null },
    { type: "register", username: "ann", password: 12345678 },
    { type: "register", username: "ann" },
    { type: "logout", token: 1 },
    { type: "logout", token: "has space" },
    { type: "logout" },
    { type: "list", token: TOKEN, all: "yes" },
    { type: "list", token: TOKEN, search: 1 },
    { type: "details", token: TOKEN, name: "a", sha256: "A".repeat(64) },
    { type: "details", token: TOKEN, name: "a", sha256: "a".repeat(63) },
    { type: "details", token: TOKEN, name: ["a"] },
    { type: "report", token: TOKEN, name: "a", sha256: HASH_A, source: "b", ok: 1, bytes: 0 },
    { type: "report", token: TOKEN, name: "a", sha256: HASH_A, source: "b", ok: true, bytes: -1 },
    {
      type: "report",
      token: TOKEN,
      name: "a",
      sha256: HASH_A,
      source: "b",
      ok: false,
      bytes: 0,
      reason: "bored",
    },
    { type: "announce", token: TOKEN, host: "h", port: 1, replace: "no", files: [] },
    { type: "announce", token: TOKEN, host: "", port: 1, replace: false, files: [] },
    { type: "announce", token: TOKEN, host: "h", port: 1, replace: false, files: {} },
    { type: "announce", token: TOKEN, host: "h", port: 1, replace: false, files: [null] },
    {
      type: "announce",
      token: TOKEN,
      host: "h",
      port: 1,
      replace: false,
      files: [{ ...manifest(), size: "10" }],
    },
    {
      type: "announce",
      token: TOKEN,
      host: "h",
      port: 1,
      replace: false,
      files: [{ ...manifest(), chunkSize: 0 }],
    },
    {
      type: "announce",
      token: TOKEN,
      host: "h",
      port: 1,
      replace: false,
      files: [{ ...manifest(), chunkHashes: ["zz"] }],
    },
  ];
  for (const message of cases) {
    assert.throws(
      () => parseTrackerRequest(message),
      protocolError("BAD_MESSAGE"),
      JSON.stringify(message),
    );
  }
});

Deno.test("parseTrackerRequest() rejects ports outside 1-65535 as BAD_MESSAGE", () => {
  for (const port of [0, -1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "80", null]) {
    const message = { type: "announce", token: TOKEN, host: "h", port, replace: false, files: [] };
    assert.throws(() => parseTrackerRequest(message), protocolError("BAD_MESSAGE"), `${port}`);
  }
});

Deno.test("parseTrackerRequest() rejects arrays above their limits as BAD_MESSAGE", () => {
  const base = { type: "announce", token: TOKEN, host: "h", port: 1, replace: false };
  const files = Array.from({ length: MAX_FILES_PER_ANNOUNCE + 1 }, (_, i) => manifest(`f${i}`));
  assert.throws(() => parseTrackerRequest({ ...base, files }), protocolError("BAD_MESSAGE"));
  const chunkHashes = Array.from({ length: MAX_CHUNKS_PER_FILE + 1 }, () => HASH_A);
  assert.throws(
    () => parseTrackerRequest({ ...base, files: [{ ...manifest(), chunkHashes }] }),
    protocolError("BAD_MESSAGE"),
  );
});

Deno.test("parseTrackerRequest() names the offending field in its message", () => {
  const message = {
    type: "announce",
    token: TOKEN,
    host: "h",
    port: 1,
    replace: false,
    files: [manifest(), manifest("../x")],
  };
  assert.throws(() => parseTrackerRequest(message), /announce\.files\[1\]\.name/);
});

// isSafeFileName

Deno.test("isSafeFileName() accepts relative names made of normal segments", () => {
  for (
    const name of ["a", "a.txt", "docs/a.txt", "a/b/c", ".hidden", "..a", "a..", "x".repeat(1024)]
  ) {
    assert.equal(isSafeFileName(name), true, name);
  }
});

Deno.test("isSafeFileName() refuses empty, dot, absolute, backslash and control-character names", () => {
  const names = [
    "",
    ".",
    "..",
    "../x",
    "a/..",
    "a/./b",
    "/abs",
    "a//b",
    "a/",
    "a\\b",
    "C:\\x",
    "a\u0000b",
    "a\nb",
    "a\u007fb",
    "x".repeat(1025),
  ];
  for (const name of names) assert.equal(isSafeFileName(name), false, JSON.stringify(name));
});

// parsePeerRequest

Deno.test("parsePeerRequest() accepts ping and read", () => {
  assert.deepEqual(parsePeerRequest({ type: "ping", nonce: 7 }), { type: "ping", nonce: 7 });
  const read = { type: "read", name: "docs/a.txt", sha256: HASH_A, offset: 0, length: 4096 };
  assert.deepEqual(parsePeerRequest(read), read);
  assert.deepEqual(parsePeerRequest({ type: "hello", version: 1 }), { type: "hello", version: 1 });
});

Deno.test("parsePeerRequest() rejects tracker requests, bad names and bad numbers", () => {
  assert.throws(
    () => parsePeerRequest({ type: "login", username: "a", password: "b" }),
    protocolError("UNKNOWN_TYPE"),
  );
  const read = { type: "read", name: "a", sha256: HASH_A, offset: 0, length: 1 };
  for (
    const bad of [
      { name: "../a" },
      { sha256: "x" },
      { offset: -1 },
      { length: 0.5 },
      { offset: "0" },
    ]
  ) {
    assert.throws(() => parsePeerRequest({ ...read, ...bad }), protocolError("BAD_MESSAGE"));
  }
  assert.throws(() => parsePeerRequest({ type: "ping" }), protocolError("BAD_MESSAGE"));
});

// schema object()

Deno.test("object() drops unknown keys and omits absent optional keys", () => {
  const schema = object({ x: int(), label: optional(str()) });
  const out = schema({ x: 1, extra: true, __proto__: { y: 2 } }, "msg");
  assert.deepEqual(out, { x: 1 });
  assert.equal(Object.hasOwn(out, "label"), false);
  assert.equal(Object.hasOwn(out, "extra"), false);
  assert.deepEqual(schema({ x: 1, label: "hi" }, "msg"), { x: 1, label: "hi" });
  assert.deepEqual(schema({ x: 1, label: undefined }, "msg"), { x: 1 });
  assert.equal(Object.hasOwn(schema({ x: 1, label: undefined }, "msg"), "label"), false);
});

Deno.test("parseTrackerRequest() drops unknown keys from requests and nested manifests", () => {
  const parsed = parseTrackerRequest({
    type: "announce",
    token: TOKEN,
    host: "h",
    port: 1,
    replace: false,
    admin: true,
    files: [{ ...manifest(), owner: "root" }],
  });
  assert.deepEqual(parsed, {
    type: "announce",
    token: TOKEN,
    host: "h",
    port: 1,
    replace: false,
    files: [manifest()],
  });
  const list = parseTrackerRequest({ type: "list", token: TOKEN });
  assert.deepEqual(Object.keys(list).sort(), ["token", "type"]);
});

Deno.test("object() rejects values that are not plain objects", () => {
  const schema = object({ x: optional(int()) });
  for (const value of [null, [], "x", 1, undefined]) {
    assert.throws(() => schema(value, "msg"), protocolError("BAD_MESSAGE"));
  }
});

// Fuzz

/** A seeded linear congruential generator: the same seed gives the same numbers. */
function lcg(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 0x1_0000_0000) * below);
  };
}

Deno.test("parseTrackerRequest() only ever returns or throws ProtocolError on mutated messages", () => {
  const next = lcg(20240601);
  const pick = <T>(items: readonly T[]): T => items[next(items.length)]!;
  const types = ["hello", "register", "login", "logout", "announce", "heartbeat", "list"];
  const randomValue = (depth: number): unknown => {
    switch (next(depth > 2 ? 9 : 11)) {
      case 0:
        return null;
      case 1:
        return next(2) === 0;
      case 2:
        return pick([0, -1, 1, 1.5, 65535, 65536, 2 ** 53, -(2 ** 53), 1e308, Number.NaN]);
      case 3:
        return pick(["", "a", "../x", "/abs", "a//b", "a\\b", ".", "a\u0000", "é", HASH_A, TOKEN]);
      case 4:
        return "x".repeat(next(2000));
      case 5:
        return pick(types.concat(["details", "locate", "report", "__proto__", "toString"]));
      case 6:
        return String.fromCharCode(...Array.from({ length: next(20) }, () => next(0x10000)));
      case 7:
        return pick([{}, [], Number.POSITIVE_INFINITY, -0]);
      case 8:
        return manifest(pick(["a", "b/c", "../d"]));
      case 9:
        return Array.from({ length: next(4) }, () => randomValue(depth + 1));
      default:
        return Object.fromEntries(
          Array.from(
            { length: next(4) },
            () => [pick(["name", "type", "x"]), randomValue(depth + 1)],
          ),
        );
    }
  };
  const mutate = (value: unknown, depth: number): unknown => {
    if (Array.isArray(value)) {
      const copy = [...value];
      const choice = next(5);
      if (choice === 0 || copy.length === 0) copy.push(randomValue(depth));
      else if (choice === 1) copy.splice(next(copy.length), 1);
      else if (choice === 2) copy.length = pick([copy.length + 1, 1001, 8193]);
      else copy[next(copy.length)] = mutate(copy[next(copy.length)], depth + 1);
      return copy;
    }
    if (typeof value === "object" && value !== null) {
      const copy: Record<string, unknown> = { ...value };
      const keys = Object.keys(copy);
      const key = keys.length ? pick(keys) : "type";
      const choice = next(5);
      if (choice === 0) delete copy[key];
      else if (choice === 1) {
        copy[pick(["extra", "__proto__", "constructor", key])] = randomValue(depth);
      } else if (choice === 2) copy[key] = randomValue(depth);
      else copy[key] = mutate(copy[key], depth + 1);
      return copy;
    }
    return next(3) === 0 ? randomValue(depth) : value;
  };

  const valid = validTrackerRequests();
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    let message = pick(valid) as unknown;
    for (let rounds = 1 + next(3); rounds > 0; rounds--) message = mutate(message, 0);
    if (typeof message !== "object" || message === null || Array.isArray(message)) continue;
    const input = message as Record<string, unknown>;
    try {
      const parsed = parseTrackerRequest(input);
      accepted++;
      assert.equal(parsed.type, input.type);
      // What the parser accepts, it accepts again unchanged.
      assert.deepEqual(parseTrackerRequest(parsed), parsed);
    } catch (error) {
      assert.ok(
        error instanceof ProtocolError,
        `iteration ${i}: ${error} for ${JSON.stringify(input)?.slice(0, 300)}`,
      );
      assert.ok(["BAD_MESSAGE", "UNKNOWN_TYPE"].includes(error.code), error.code);
    }
  }
  assert.ok(accepted > 0, "some mutations stay valid");
});

Deno.test("a progress request typed from the schema carries a have-map and passes the tracker's check", () => {
  const update: RequestFields<TrackerRequestOf<"progress">> = {
    name: "a.bin",
    id: HASH_A,
    host: "127.0.0.1",
    port: 7071,
    progress: 0.5,
    have: encodeHaveMap(Uint8Array.of(1, 0, 1)),
  };
  const request: TrackerRequestOf<"progress"> = { type: "progress", token: TOKEN, ...update };
  assert.deepEqual(parseTrackerRequest(request), request);
});

Deno.test("request types from the schema refuse, when type-checked, a field the schema would refuse", () => {
  const report: TrackerRequestOf<"report"> = {
    type: "report",
    token: TOKEN,
    name: "a.bin",
    sha256: HASH_A,
    id: HASH_B,
    source: "bob",
    ok: false,
    bytes: 0,
    // @ts-expect-error: a reason is one of the schema's failure reasons, not any string
    reason: "bored",
  };
  assert.throws(() => parseTrackerRequest(report), protocolError("BAD_MESSAGE"));
  const have: PeerRequestOf<"have"> = { type: "have", name: "a.bin", id: HASH_A, wait: true };
  assert.deepEqual(parsePeerRequest(have), have);
  // @ts-expect-error: a read needs its offset and length
  const read: PeerRequestOf<"read"> = { type: "read", name: "a.bin", sha256: HASH_A };
  assert.throws(() => parsePeerRequest(read), protocolError("BAD_MESSAGE"));
});

Deno.test("objectOf() refuses, when type-checked, a schema that drifts from its declared type", () => {
  interface Point {
    x: number;
    label?: string;
  }
  const point = objectOf<Point>({ x: int(), label: optional(str()) });
  assert.deepEqual(point({ x: 1, label: "a", extra: true }, "point"), { x: 1, label: "a" });
  // @ts-expect-error: the schema lacks a field of the type
  objectOf<Point>({ x: int() });
  // @ts-expect-error: the schema checks a field the type does not have
  objectOf<Point>({ x: int(), label: optional(str()), y: int() });
  // @ts-expect-error: an optional field of the type has a required schema
  objectOf<Point>({ x: int(), label: str() });
  // @ts-expect-error: a required field of the type has an optional schema
  objectOf<Point>({ x: optional(int()), label: optional(str()) });
  // @ts-expect-error: the schema checks another type than the field's
  objectOf<Point>({ x: str(), label: optional(str()) });
});
