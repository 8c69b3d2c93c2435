/**
 * Have-maps: which chunks of one version a source can serve, as a bitmap. Bit `i` (chunk `i`) is
 * bit `i % 8` (least significant first) of byte `i >> 3`; the bytes travel as standard base64 in
 * the `bits` field of the `have` reply. A map covers exactly `ceil(chunks / 8)` bytes and the
 * unused bits of its last byte are zero, so every set of chunks has one spelling.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { MAX_CHUNKS_PER_FILE, MAX_HAVE_MAP_CHARS } from "./messages.ts";

/**
 * Encodes which chunks are present (`have[i]` non-zero) as a have-map.
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
  if (have.length > MAX_CHUNKS_PER_FILE) {
    throw new RangeError(
      `Cannot encode have-map: ${have.length} chunks exceed ${MAX_CHUNKS_PER_FILE}`,
    );
  }
  const bits = new Uint8Array(Math.ceil(have.length / 8));
  for (let i = 0; i < have.length; i++) if (have[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits.toBase64();
}

/**
 * Decodes a have-map of a version with `chunks` chunks into one byte (0 or 1) per chunk; throws a
 * `BAD_MESSAGE` {@link ProtocolError} when the text is not base64 of exactly the right length or
 * sets a bit past the last chunk.
 */
export function decodeHaveMap(text: string, chunks: number): Uint8Array {
  if (!Number.isInteger(chunks) || chunks < 0 || chunks > MAX_CHUNKS_PER_FILE) {
    throw new RangeError(
      `Cannot decode have-map: ${chunks} chunks is not 0-${MAX_CHUNKS_PER_FILE}`,
    );
  }
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
  const have = new Uint8Array(chunks);
  for (let i = 0; i < chunks; i++) have[i] = (bits[i >> 3]! >> (i & 7)) & 1;
  return have;
}
