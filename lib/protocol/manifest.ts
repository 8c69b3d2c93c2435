/**
 * A file version's identity and the rules its manifest must obey. A version is named by its
 * **manifest id**: the SHA-256 of a canonical encoding of `(size, chunkSize, whole-file SHA-256,
 * chunk hashes)`, so two manifests with the same id describe the same bytes chunk for chunk, and
 * nobody can store a different manifest under an id that is already taken. The tracker computes
 * the id itself from what a peer announces; it never takes one from a client.
 *
 * The whole-file SHA-256 is part of the id although the chunk hashes already fix the content:
 * the tracker cannot check that claim, so a holder that announces someone's chunks with a wrong
 * whole-file hash makes a version of its own (which fails the end-of-download check against its
 * own holders only) instead of casting doubt on the honest copy.
 *
 * Canonical encoding (all integers big-endian):
 *
 * | bytes | field |
 * |---|---|
 * | 16 | the ASCII tag `p2pfs-manifest-1` |
 * | 8 | size in bytes |
 * | 4 | chunk size in bytes |
 * | 4 | chunk count |
 * | 32 | the raw whole-file SHA-256 |
 * | 32 × count | the raw SHA-256 digest of each chunk, in order |
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ProtocolError } from "./errors.ts";
import { MAX_CHUNK_SIZE, MAX_FILE_BYTES, MIN_CHUNK_SIZE } from "./limits.ts";

/** SHA-256 of zero bytes: the whole-file hash of an empty file. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const TAG = new TextEncoder().encode("p2pfs-manifest-1");

/** What identifies a version: its size, chunking, whole-file hash and chunk hashes. */
export interface ManifestShape {
  /** File size in bytes. */
  size: number;
  /** Hex SHA-256 of the whole file. */
  sha256: string;
  /** Chunk size in bytes. */
  chunkSize: number;
  /** Hex SHA-256 of every chunk, in order. */
  chunkHashes: readonly string[];
}

/**
 * The manifest id of a version: hex SHA-256 of its canonical encoding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EMPTY_SHA256, manifestId } from "./manifest.ts";
 * const a = manifestId({ size: 0, chunkSize: 65536, sha256: EMPTY_SHA256, chunkHashes: [] });
 * const b = manifestId({ size: 0, chunkSize: 131072, sha256: EMPTY_SHA256, chunkHashes: [] });
 * assert.match(a, /^[0-9a-f]{64}$/);
 * assert.notEqual(a, b);
 * assert.notEqual(a, EMPTY_SHA256);
 * ```
 */
export function manifestId(manifest: ManifestShape): string {
  const head = new Uint8Array(TAG.length + 16);
  head.set(TAG, 0);
  const view = new DataView(head.buffer);
  view.setBigUint64(TAG.length, BigInt(manifest.size));
  view.setUint32(TAG.length + 8, manifest.chunkSize);
  view.setUint32(TAG.length + 12, manifest.chunkHashes.length);
  // One hex decode and one update for all chunk hashes: about 100 times faster than one each.
  return createHash("sha256").update(head)
    .update(Uint8Array.fromHex(manifest.sha256 + manifest.chunkHashes.join("")))
    .digest("hex");
}

/**
 * Why a manifest does not add up, or `undefined` when it does: the chunk size is a power of two
 * from {@link MIN_CHUNK_SIZE} to {@link MAX_CHUNK_SIZE}, the size is at most
 * {@link MAX_FILE_BYTES}, there are exactly `ceil(size / chunkSize)` chunk hashes, and an empty
 * file has the SHA-256 of nothing. The one statement of these rules: the tracker refuses such an
 * announcement ({@link checkManifest}) and a peer refuses such a `details` reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestProblem } from "./manifest.ts";
 * const hash = "a".repeat(64);
 * assert.equal(manifestProblem({ size: 70_000, chunkSize: 65536, sha256: hash, chunkHashes: [hash, hash] }), undefined);
 * assert.match(manifestProblem({ size: 1, chunkSize: 2 ** 40, sha256: hash, chunkHashes: [hash] })!, /chunk size/);
 * ```
 */
export function manifestProblem(manifest: ManifestShape): string | undefined {
  const { size, chunkSize, chunkHashes } = manifest;
  if (
    !Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE ||
    (chunkSize & (chunkSize - 1)) !== 0
  ) {
    return `chunk size ${chunkSize} is not a power of two from 64 KiB to 16 MiB`;
  }
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_BYTES) {
    return `size ${size} is outside 0..${MAX_FILE_BYTES}`;
  }
  const expected = Math.ceil(size / chunkSize);
  if (chunkHashes.length !== expected) {
    return `${chunkHashes.length} chunk hashes for ${size} bytes in chunks of ${chunkSize} (expected ${expected})`;
  }
  if (size === 0 && manifest.sha256 !== EMPTY_SHA256) {
    return "an empty file must have the SHA-256 of nothing";
  }
  return undefined;
}

/**
 * Checks that a manifest adds up ({@link manifestProblem}), or throws a `BAD_MESSAGE`
 * {@link ProtocolError} that says why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkManifest } from "./manifest.ts";
 * const hash = "a".repeat(64);
 * checkManifest({ name: "a", size: 70_000, chunkSize: 65536, sha256: hash, chunkHashes: [hash, hash] });
 * assert.throws(() =>
 *   checkManifest({ name: "a", size: 64 << 20, chunkSize: 65536, sha256: hash, chunkHashes: [] })
 * );
 * ```
 */
export function checkManifest(manifest: ManifestShape & { name: string }): void {
  const problem = manifestProblem(manifest);
  if (problem !== undefined) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `Cannot accept manifest of ${manifest.name}: ${problem}`,
    );
  }
}
