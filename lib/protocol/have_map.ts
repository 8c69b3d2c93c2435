/**
 * The one chunk bitmap of p2pfs, the have-map: which chunks of one version a source can serve (on
 * the wire, in the `bits` field of the `have` reply and the `have` field of `progress`) and which
 * chunks a resumable download has verified (on disk, the `verified` field of `NAME.part.json`).
 *
 * Bit `i` (chunk `i`) is bit `i % 8` (least significant first) of byte `i >> 3`; the bytes are
 * written as standard, padded base64. A map covers exactly `ceil(chunks / 8)` bytes and the unused
 * bits of its last byte are zero, so every set of chunks has one spelling, and a decoder refuses
 * any other with a `BAD_MESSAGE` {@link ProtocolError}: a map whose length disagrees with the
 * chunk count, a bit past the last chunk, or text that is not canonical base64.
 *
 * The chunks are given either as one byte per chunk ({@link encodeHaveMap}, {@link decodeHaveMap})
 * or as a list of chunk indexes ({@link encodeChunkIndexes}, {@link decodeChunkIndexes}).
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { MAX_CHUNKS_PER_FILE, MAX_HAVE_MAP_CHARS } from "./limits.ts";

/**
 * Encodes which chunks are present (`have[i]` non-zero) as a have-map; throws a `RangeError` for
 * more than `MAX_CHUNKS_PER_FILE` chunks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeHaveMap, encodeHaveMap } from "./have_map.ts";
 * const text = encodeHaveMap(Uint8Array.of(1, 0, 1));
 * assert.equal(text, "BQ==");
 * assert.deepEqual(decodeHaveMap(text, 3), Uint8Array.of(1, 0, 1));
 * ```
 */
export function encodeHaveMap(have: Uint8Array): string {
  checkChunkCount("encode", have.length);
  const bits = new Uint8Array(Math.ceil(have.length / 8));
  for (let i = 0; i < have.length; i++) if (have[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits.toBase64();
}

/**
 * Decodes a have-map of a version with `chunks` chunks into one byte (0 or 1) per chunk; throws a
 * `BAD_MESSAGE` {@link ProtocolError} when the text is not base64 of exactly the right length or
 * sets a bit past the last chunk, and a `RangeError` when `chunks` is not 0 to
 * `MAX_CHUNKS_PER_FILE`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeHaveMap } from "./have_map.ts";
 * assert.deepEqual(decodeHaveMap("BQ==", 3), Uint8Array.of(1, 0, 1));
 * assert.throws(() => decodeHaveMap("BQ==", 9), { code: "BAD_MESSAGE" }); // 1 byte for 9 chunks
 * ```
 */
export function decodeHaveMap(text: string, chunks: number): Uint8Array {
  const bits = decodeBits(text, chunks);
  const have = new Uint8Array(chunks);
  for (let i = 0; i < chunks; i++) have[i] = (bits[i >> 3]! >> (i & 7)) & 1;
  return have;
}

/**
 * Encodes a list of chunk indexes of a version with `chunks` chunks as a have-map; throws a
 * `RangeError` for an index that is not a chunk of it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeChunkIndexes, encodeChunkIndexes } from "./have_map.ts";
 * const text = encodeChunkIndexes([0, 3, 9], 10);
 * assert.deepEqual(decodeChunkIndexes(text, 10), [0, 3, 9]);
 * ```
 */
export function encodeChunkIndexes(indexes: Iterable<number>, chunks: number): string {
  checkChunkCount("encode", chunks);
  const have = new Uint8Array(chunks);
  for (const i of indexes) {
    if (!Number.isInteger(i) || i < 0 || i >= chunks) {
      throw new RangeError(`Cannot encode have-map: ${i} is not a chunk index below ${chunks}`);
    }
    have[i] = 1;
  }
  return encodeHaveMap(have);
}

/**
 * Decodes a have-map of a version with `chunks` chunks into the indexes of its chunks, in order;
 * refuses what {@link decodeHaveMap} refuses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeChunkIndexes } from "./have_map.ts";
 * assert.deepEqual(decodeChunkIndexes("BQ==", 3), [0, 2]);
 * ```
 */
export function decodeChunkIndexes(text: string, chunks: number): number[] {
  const bits = decodeBits(text, chunks);
  const indexes: number[] = [];
  for (let i = 0; i < chunks; i++) if ((bits[i >> 3]! >> (i & 7)) & 1) indexes.push(i);
  return indexes;
}

function checkChunkCount(verb: string, chunks: number): void {
  if (!Number.isInteger(chunks) || chunks < 0 || chunks > MAX_CHUNKS_PER_FILE) {
    throw new RangeError(
      `Cannot ${verb} have-map: ${chunks} chunks is not 0-${MAX_CHUNKS_PER_FILE}`,
    );
  }
}

/** The bytes of a have-map, checked against `chunks` (see the module doc for the rules). */
function decodeBits(text: string, chunks: number): Uint8Array {
  checkChunkCount("decode", chunks);
  const bad = (why: string) => new ProtocolError("BAD_MESSAGE", `Cannot decode have-map: ${why}`);
  if (text.length > MAX_HAVE_MAP_CHARS) throw bad(`${text.length} characters is too long`);
  let bits: Uint8Array;
  try {
    bits = Uint8Array.fromBase64(text);
  } catch {
    throw bad("not base64");
  }
  if (bits.length !== Math.ceil(chunks / 8)) {
    throw bad(`${bits.length} bytes for ${chunks} chunks`);
  }
  if (bits.toBase64() !== text) throw bad("not in canonical base64");
  const tail = chunks & 7;
  if (tail !== 0 && (bits[bits.length - 1]! >> tail) !== 0) throw bad("a bit past the last chunk");
  return bits;
}
