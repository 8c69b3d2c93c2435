/**
 * Resumable downloads: next to `NAME.part` lies `NAME.part.json`, recording which file version is
 * being fetched and how many leading chunks are written and verified. A later run re-verifies those
 * chunks from disk before trusting them, and fetches only the rest.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import type { FileDetails } from "../protocol/mod.ts";
import { chunkRange } from "./chunking.ts";

/** What the state file holds. */
export interface PartState {
  /** SHA-256 of the file being fetched. */
  sha256: string;
  /** Its size. */
  size: number;
  /** Its chunk size. */
  chunkSize: number;
  /** Chunks `0 .. verifiedChunks - 1` are written and verified. */
  verifiedChunks: number;
}

/** The state file's path for a `.part` path. */
export function statePath(partPath: string): string {
  return `${partPath}.json`;
}

/** Writes the state file (via a temporary file and a rename, so it is never half written). */
export async function saveState(partPath: string, state: PartState): Promise<void> {
  const tmp = `${statePath(partPath)}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(state));
  await Deno.rename(tmp, statePath(partPath));
}

/** Removes the `.part` file and its state. */
export async function removePart(partPath: string): Promise<void> {
  await Deno.remove(partPath).catch(() => {});
  await Deno.remove(statePath(partPath)).catch(() => {});
}

/**
 * How many leading chunks of an earlier `.part` can be kept: the state must describe the same
 * file, and each chunk is read back and hashed again (feeding `whole`, the running whole-file
 * hash). Resolves to 0 when there is nothing usable.
 *
 * @example
 * ```ts ignore
 * const first = await resumableChunks(partPath, details, whole, (done) => console.log(done));
 * ```
 */
export async function resumableChunks(
  partPath: string,
  details: FileDetails,
  whole: Hash,
  onProgress?: (verifiedBytes: number, totalBytes: number) => void,
): Promise<number> {
  let state: PartState;
  try {
    state = JSON.parse(await Deno.readTextFile(statePath(partPath)));
  } catch {
    return 0;
  }
  if (
    state.sha256 !== details.sha256 || state.size !== details.size ||
    state.chunkSize !== details.chunkSize || !Number.isSafeInteger(state.verifiedChunks)
  ) {
    return 0;
  }
  const claimed = Math.min(state.verifiedChunks, details.chunkHashes.length);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(partPath, { read: true });
  } catch {
    return 0;
  }
  using _ = file;
  const buffer = new Uint8Array(details.chunkSize);
  for (let index = 0; index < claimed; index++) {
    const range = chunkRange(index, details);
    const target = buffer.subarray(0, range.length);
    let filled = 0;
    while (filled < target.length) {
      const n = await file.read(target.subarray(filled));
      if (n === null) return index;
      filled += n;
    }
    if (createHash("sha256").update(target).digest("hex") !== details.chunkHashes[index]) {
      return index;
    }
    whole.update(target);
    onProgress?.(range.offset + range.length, details.size);
  }
  return claimed;
}
