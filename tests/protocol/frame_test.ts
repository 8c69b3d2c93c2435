import assert from "node:assert/strict";
import {
  type ByteReader,
  decodeFrameLength,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameReader,
  MAX_FRAME_BYTES,
  ProtocolError,
} from "../../lib/protocol/mod.ts";

/** A seeded linear congruential generator: the same seed gives the same numbers. */
function lcg(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

/**
 * An in-memory byte source that hands out `bytes` in pieces of at most `piece()` bytes, then
 * reports end of stream. Counts reads so tests can tell buffered bytes from fresh ones.
 */
class PieceReader implements ByteReader {
  readonly #bytes: Uint8Array;
  readonly #piece: () => number;
  #offset = 0;
  reads = 0;

  constructor(bytes: Uint8Array, piece: () => number = () => bytes.length) {
    this.#bytes = bytes;
    this.#piece = piece;
  }

  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    if (this.#offset >= this.#bytes.length) return Promise.resolve(null);
    const n = Math.min(p.length, Math.max(1, this.#piece()), this.#bytes.length - this.#offset);
    p.set(this.#bytes.subarray(this.#offset, this.#offset + n));
    this.#offset += n;
    return Promise.resolve(n);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function bytesOf(length: number, seed: number): Uint8Array {
  const next = lcg(seed);
  return Uint8Array.from({ length }, () => next(256));
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(0, length, false);
  return bytes;
}

function protocolError(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${error}`);
    assert.equal(error.code, code);
    return true;
  };
}

Deno.test("encodeFrame() and decodeFrameLength() round-trip body lengths", () => {
  for (const length of [0, 1, 3, 255, 256, 65_535, 65_536, 70_000]) {
    const body = bytesOf(length, length);
    const frame = encodeFrame(body);
    assert.equal(frame.length, FRAME_HEADER_BYTES + length);
    assert.equal(decodeFrameLength(frame), length);
    assert.deepEqual(frame.subarray(FRAME_HEADER_BYTES), body);
  }
});

Deno.test("encodeFrame() writes the length as 4 big-endian bytes", () => {
  const frame = encodeFrame(new Uint8Array(0x0102));
  assert.deepEqual([...frame.subarray(0, 4)], [0, 0, 1, 2]);
});

Deno.test("encodeFrame() rejects a body above maxBytes with a RangeError", () => {
  assert.throws(() => encodeFrame(new Uint8Array(11), 10), RangeError);
  assert.throws(() => encodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), RangeError);
  assert.equal(encodeFrame(new Uint8Array(10), 10).length, 14);
});

Deno.test("decodeFrameLength() reads a header that sits at an offset inside a larger buffer", () => {
  const buffer = concat(new Uint8Array([9, 9, 9]), header(300), new Uint8Array([7]));
  assert.equal(decodeFrameLength(buffer.subarray(3, 7)), 300);
});

Deno.test("decodeFrameLength() rejects a header shorter than 4 bytes as TRUNCATED", () => {
  assert.throws(() => decodeFrameLength(new Uint8Array(3)), protocolError("TRUNCATED"));
});

Deno.test("decodeFrameLength() rejects a length above the limit as FRAME_TOO_LARGE", () => {
  assert.throws(
    () => decodeFrameLength(header(MAX_FRAME_BYTES + 1)),
    protocolError("FRAME_TOO_LARGE"),
  );
  assert.throws(() => decodeFrameLength(header(0xffff_ffff)), protocolError("FRAME_TOO_LARGE"));
  assert.throws(() => decodeFrameLength(header(11), 10), protocolError("FRAME_TOO_LARGE"));
  assert.equal(decodeFrameLength(header(MAX_FRAME_BYTES)), MAX_FRAME_BYTES);
  assert.equal(decodeFrameLength(header(10), 10), 10);
});

Deno.test("FrameReader.readFrame() reads several frames delivered in random-sized pieces", async () => {
  const bodies = [0, 1, 5, 17, 300, 4096, 70_000, 2].map((length, i) => bytesOf(length, i + 1));
  const stream = concat(...bodies.map((body) => encodeFrame(body)));
  for (let seed = 1; seed <= 20; seed++) {
    const next = lcg(seed);
    const maxPiece = [1, 2, 3, 7, 64, 5000][seed % 6]!;
    // A small initial buffer forces the reader to grow and compact it.
    const reader = new FrameReader(new PieceReader(stream, () => 1 + next(maxPiece)), {
      bufferBytes: seed % 2 === 0 ? 8 : 64 * 1024,
    });
    for (const body of bodies) assert.deepEqual(await reader.readFrame(), body);
    assert.equal(await reader.readFrame(), null);
  }
});

Deno.test("FrameReader.readFrame() returns null at a clean end of stream", async () => {
  assert.equal(await new FrameReader(new PieceReader(new Uint8Array(0))).readFrame(), null);

  const reader = new FrameReader(new PieceReader(encodeFrame(new Uint8Array([1, 2]))));
  assert.deepEqual(await reader.readFrame(), new Uint8Array([1, 2]));
  assert.equal(await reader.readFrame(), null);
  assert.equal(await reader.readFrame(), null);
});

Deno.test("FrameReader.readFrame() throws TRUNCATED when the stream ends inside the header", async () => {
  for (const cut of [1, 2, 3]) {
    const bytes = encodeFrame(new Uint8Array(10)).subarray(0, cut);
    const reader = new FrameReader(new PieceReader(bytes, () => 1));
    await assert.rejects(reader.readFrame(), protocolError("TRUNCATED"));
  }
});

Deno.test("FrameReader.readFrame() throws TRUNCATED when the stream ends inside the body", async () => {
  const whole = concat(encodeFrame(new Uint8Array([1])), encodeFrame(bytesOf(100, 3)));
  for (const cut of [FRAME_HEADER_BYTES + 1 + FRAME_HEADER_BYTES, whole.length - 1]) {
    const reader = new FrameReader(new PieceReader(whole.subarray(0, cut), () => 7));
    assert.deepEqual(await reader.readFrame(), new Uint8Array([1]));
    await assert.rejects(reader.readFrame(), protocolError("TRUNCATED"));
  }
});

Deno.test("FrameReader.readFrame() rejects a length above MAX_FRAME_BYTES", async () => {
  const source = new PieceReader(concat(header(MAX_FRAME_BYTES + 1), new Uint8Array(16)));
  await assert.rejects(new FrameReader(source).readFrame(), protocolError("FRAME_TOO_LARGE"));
});

Deno.test("FrameReader.readFrame() rejects a length above a custom maxFrameBytes", async () => {
  const source = new PieceReader(encodeFrame(new Uint8Array(101)));
  const reader = new FrameReader(source, { maxFrameBytes: 100 });
  await assert.rejects(reader.readFrame(), protocolError("FRAME_TOO_LARGE"));
});

Deno.test("FrameReader.readFrame() accepts a frame exactly at the limit", async () => {
  const small = bytesOf(100, 5);
  const smallReader = new FrameReader(new PieceReader(encodeFrame(small), () => 9), {
    maxFrameBytes: 100,
  });
  assert.deepEqual(await smallReader.readFrame(), small);
  assert.equal(await smallReader.readFrame(), null);

  const big = bytesOf(MAX_FRAME_BYTES, 6);
  const bigReader = new FrameReader(new PieceReader(encodeFrame(big), () => 60_000));
  assert.deepEqual(await bigReader.readFrame(), big);
  assert.equal(await bigReader.readFrame(), null);
});

Deno.test("FrameReader.readExact() returns raw bytes after a frame, buffered ones first", async () => {
  const raw = bytesOf(1000, 8);
  const next = encodeFrame(new TextEncoder().encode("after"));
  const stream = concat(encodeFrame(new Uint8Array([42])), raw, next);
  // One read hands out the header frame and part of the raw bytes together.
  const source = new PieceReader(stream, () => 300);
  const reader = new FrameReader(source);

  assert.deepEqual(await reader.readFrame(), new Uint8Array([42]));
  const buffered = reader.buffered;
  assert.equal(buffered, 300 - 5);
  const readsBefore = source.reads;

  const first = new Uint8Array(100);
  await reader.readExact(first);
  assert.deepEqual(first, raw.subarray(0, 100));
  assert.equal(source.reads, readsBefore, "bytes already buffered need no new read");

  const rest = new Uint8Array(900);
  await reader.readExact(rest);
  assert.deepEqual(rest, raw.subarray(100));
  assert.ok(source.reads > readsBefore);

  assert.deepEqual(new TextDecoder().decode((await reader.readFrame())!), "after");
  assert.equal(await reader.readFrame(), null);
});

Deno.test("FrameReader.readSome() hands out buffered bytes before reading the source", async () => {
  const raw = bytesOf(50, 9);
  const source = new PieceReader(concat(encodeFrame(new Uint8Array(2)), raw));
  const reader = new FrameReader(source);
  assert.deepEqual(await reader.readFrame(), new Uint8Array(2));
  assert.equal(reader.buffered, 50);

  const target = new Uint8Array(80);
  assert.equal(await reader.readSome(target.subarray(0, 0)), 0);
  const n = await reader.readSome(target);
  assert.equal(n, 50);
  assert.deepEqual(target.subarray(0, 50), raw);
  assert.equal(reader.buffered, 0);
  assert.equal(await reader.readSome(target), null);
  assert.equal(await reader.readFrame(), null);
});

Deno.test("FrameReader.readSome() reads straight from the source when nothing is buffered", async () => {
  const raw = bytesOf(30, 10);
  const reader = new FrameReader(new PieceReader(raw, () => 12));
  const target = new Uint8Array(30);
  assert.equal(await reader.readSome(target), 12);
  assert.equal(await reader.readSome(target.subarray(12)), 12);
  assert.equal(await reader.readSome(target.subarray(24)), 6);
  assert.deepEqual(target, raw);
  assert.equal(await reader.readSome(target), null);
});

Deno.test("FrameReader.readExact() throws TRUNCATED when the stream ends first", async () => {
  const source = new PieceReader(
    concat(encodeFrame(new Uint8Array(1)), new Uint8Array(10)),
    () => 3,
  );
  const reader = new FrameReader(source);
  assert.deepEqual(await reader.readFrame(), new Uint8Array(1));
  await assert.rejects(reader.readExact(new Uint8Array(11)), protocolError("TRUNCATED"));
});
