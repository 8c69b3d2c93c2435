/**
 * How files are cut into chunks: 1 MiB by default, doubled for very large files so that no file
 * has more than {@link MAX_CHUNKS_PER_FILE} chunks (its manifest must fit one control frame).
 *
 * @module
 */
import { MAX_CHUNKS_PER_FILE } from "../protocol/mod.ts";

/** The default chunk size: 1 MiB. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/**
 * The chunk size for a file of `size` bytes: `preferred`, doubled until the count fits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chunkSizeFor } from "./chunking.ts";
 * assert.ok(chunkSizeFor(10) === 1024 * 1024);
 * assert.ok(chunkSizeFor(16 * 1024 ** 3) === 2 * 1024 * 1024);
 * ```
 */
export function chunkSizeFor(size: number, preferred: number = DEFAULT_CHUNK_SIZE): number {
  let chunkSize = preferred;
  while (Math.ceil(size / chunkSize) > MAX_CHUNKS_PER_FILE) chunkSize *= 2;
  return chunkSize;
}

/** How many chunks a file of `size` bytes has (an empty file has none). */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/**
 * Byte range of chunk `index`: its offset and length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chunkRange } from "./chunking.ts";
 * const last = chunkRange(2, { size: 2500, chunkSize: 1000 });
 * assert.ok(last.offset === 2000 && last.length === 500);
 * ```
 */
export function chunkRange(
  index: number,
  file: { size: number; chunkSize: number },
): { offset: number; length: number } {
  const offset = index * file.chunkSize;
  return { offset, length: Math.max(0, Math.min(file.chunkSize, file.size - offset)) };
}
