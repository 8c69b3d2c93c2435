/**
 * What a peer checks in the tracker's `details` reply before it writes anything: the client trusts
 * no tracker blindly. The reply must be for the file that was asked for, under a safe relative
 * name, and its manifest must add up (the protocol's rules in `manifest.ts`, well-formed hashes,
 * and a version id that is the manifest's own), so a hostile or broken tracker can neither choose
 * where a download is saved (`notes.txt` answered as `.ssh/authorized_keys`) nor make a peer
 * allocate a `.part` of a size no honest file has (a 1 TiB chunk).
 *
 * The chunk size is held to the protocol's limits (a power of two from 64 KiB to 16 MiB, at most
 * `MAX_CHUNKS_PER_FILE` chunks), not to the exact size this project's indexer picks (1 MiB doubled
 * until the count fits): the tracker accepts any manifest within the limits, and so does a peer.
 *
 * @module
 */
import {
  type FileDetails,
  isSafeFileName,
  manifestId,
  manifestProblem,
  MAX_CHUNKS_PER_FILE,
} from "../protocol/mod.ts";
import { PeerError } from "./errors.ts";

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Checks the tracker's `details` reply, or throws a `BAD_DETAILS` {@link PeerError}:
 * `Cannot download NAME: the tracker answered for another file (OTHER)` when `asked` is given and
 * the reply names another file, `Cannot download NAME: the tracker's manifest does not add up: WHY`
 * when its size, chunking, hashes or version id do not fit together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDetails } from "./details_check.ts";
 * import { EMPTY_SHA256, type FileDetails, manifestId } from "../protocol/mod.ts";
 * const shape = { size: 0, chunkSize: 1024 * 1024, sha256: EMPTY_SHA256, chunkHashes: [] };
 * const details: FileDetails = {
 *   type: "details", name: "notes.txt", id: manifestId(shape), ...shape, peers: [], versions: [],
 * };
 * checkDetails(details, "notes.txt");
 * assert.throws(() => checkDetails(details, "other.txt"), /answered for another file/);
 * ```
 */
export function checkDetails(details: FileDetails, asked?: string): void {
  const name = asked ?? details.name;
  if (asked !== undefined && details.name !== asked) {
    throw new PeerError(
      "BAD_DETAILS",
      `Cannot download ${asked}: the tracker answered for another file (${details.name})`,
    );
  }
  if (typeof details.name !== "string" || !isSafeFileName(details.name)) {
    throw new PeerError(
      "BAD_DETAILS",
      `Cannot download ${
        JSON.stringify(name)
      }: the tracker answered with a name that is not a safe relative path`,
    );
  }
  const problem = detailsProblem(details);
  if (problem !== undefined) {
    throw new PeerError(
      "BAD_DETAILS",
      `Cannot download ${name}: the tracker's manifest does not add up: ${problem}`,
    );
  }
}

/** Why the manifest in `details` does not add up, or `undefined` when it does. */
function detailsProblem(details: FileDetails): string | undefined {
  if (!Array.isArray(details.chunkHashes)) return "it has no list of chunk hashes";
  const problem = manifestProblem(details);
  if (problem !== undefined) return problem;
  if (details.chunkHashes.length > MAX_CHUNKS_PER_FILE) {
    return `${details.chunkHashes.length} chunks is more than ${MAX_CHUNKS_PER_FILE}`;
  }
  if (typeof details.sha256 !== "string" || !HEX_SHA256.test(details.sha256)) {
    return "the file's SHA-256 is not 64 hex digits";
  }
  const bad = details.chunkHashes.findIndex((h) => typeof h !== "string" || !HEX_SHA256.test(h));
  if (bad !== -1) return `the hash of chunk ${bad} is not 64 hex digits`;
  if (typeof details.id !== "string" || !HEX_SHA256.test(details.id)) {
    return "the version id is not 64 hex digits";
  }
  const id = manifestId(details);
  if (id !== details.id) {
    return `version id ${details.id} is not the id of its manifest (${id})`;
  }
  return undefined;
}
