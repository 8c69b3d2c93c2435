/**
 * Resumable downloads: next to `NAME.part` lies `NAME.part.json`, recording which file version is
 * being fetched and which chunks are written and verified (a bitmap). A later run re-verifies those
 * chunks from disk before trusting them, and fetches only the rest. The state file is read and
 * written without following links (see `download_folder.ts`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { decodeChunkIndexes, encodeChunkIndexes, type FileDetails } from "../protocol/mod.ts";
import { chunkRange } from "./chunking.ts";
import { openNoFollow, writeNewFile } from "./download_folder.ts";
import { PeerError } from "./errors.ts";

/** What the state file holds. */
export interface PartState {
  /** SHA-256 of the file being fetched. */
  sha256: string;
  /** Its size. */
  size: number;
  /** Its chunk size. */
  chunkSize: number;
  /** The verified chunks as a have-map (see `lib/protocol/have_map.ts`). */
  verified: string;
}

/** The state file's path for a `.part` path. */
export function statePath(partPath: string): string {
  return `${partPath}.json`;
}

/**
 * Whether a file name is a download's work file (`.part`, its state, lock or temporary state),
 * which is never shared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPartialDownload } from "./part_state.ts";
 * assert.ok(isPartialDownload("a.bin.part.lock"));
 * assert.ok(!isPartialDownload("a.bin"));
 * ```
 */
export function isPartialDownload(name: string): boolean {
  return /\.part(\.json(\.tmp)?|\.lock)?$/.test(name);
}

/**
 * Encodes chunk indexes as the state file's `verified` bitmap: a have-map, the one chunk bitmap
 * (`encodeChunkIndexes` of `lib/protocol/have_map.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBitmap, encodeBitmap } from "./part_state.ts";
 * assert.deepEqual(decodeBitmap(encodeBitmap([0, 3, 9], 10), 10), [0, 3, 9]);
 * ```
 */
export const encodeBitmap: (indexes: Iterable<number>, total: number) => string =
  encodeChunkIndexes;

/**
 * Decodes the state file's `verified` bitmap into the indexes of its chunks; throws a
 * `BAD_MESSAGE` `ProtocolError` for a bitmap whose length disagrees with `total` or that is not
 * one (`decodeChunkIndexes` of `lib/protocol/have_map.ts`).
 */
export const decodeBitmap: (text: string, total: number) => number[] = decodeChunkIndexes;

/**
 * Saves the state file whenever asked, never two writes at once, always the newest state last
 * (via a temporary file and a rename, so the file is never half written). When the temporary file
 * cannot be written (a full disk) it is removed and the state file is overwritten in place: its
 * length never changes for one download (fixed-size fields and bitmap), so that needs no new space.
 */
export class StateSaver {
  readonly #partPath: string;
  readonly #state: () => PartState;
  #running: Promise<void> | undefined;
  #dirty = false;

  /** Saves what `state()` returns at the time of each write. */
  constructor(partPath: string, state: () => PartState) {
    this.#partPath = partPath;
    this.#state = state;
  }

  /** Asks for a save soon; does not wait for it. */
  mark(): void {
    this.#dirty = true;
    this.#running ??= this.#loop().finally(() => this.#running = undefined);
  }

  /** Saves now and waits until the newest state is on disk. */
  async flush(): Promise<void> {
    this.mark();
    while (this.#running) await this.#running;
  }

  async #loop(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      await this.#save(new TextEncoder().encode(JSON.stringify(this.#state())));
    }
  }

  async #save(bytes: Uint8Array): Promise<void> {
    const path = statePath(this.#partPath);
    const tmp = `${path}.tmp`;
    try {
      await writeNewFile(tmp, bytes);
      await Deno.rename(tmp, path);
      return;
    } catch {
      await Deno.remove(tmp).catch(() => {});
    }
    try {
      using file = openNoFollow(path, { write: true });
      if (file.statSync().size !== bytes.length) return; // not this download's state: leave it
      let done = 0;
      while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
    } catch {
      // No state file yet, or not even that is possible: the chunks are still in .part, and a
      // later run re-verifies whatever the state file lists.
    }
  }
}

/** Removes the `.part` file and its state. */
export async function removePart(partPath: string): Promise<void> {
  await Deno.remove(partPath).catch(() => {});
  await Deno.remove(statePath(partPath)).catch(() => {});
}

/**
 * The chunks of an earlier `.part` that can be kept: the state must describe the same file, and
 * each chunk it lists is read back and hashed again. Resolves to their indexes (none when there
 * is nothing usable).
 *
 * @example
 * ```ts ignore
 * const kept = await resumableChunks(partPath, details, (done, total) => console.log(done, total));
 * ```
 */
export async function resumableChunks(
  partPath: string,
  details: FileDetails,
  onProgress?: (verifiedBytes: number, totalBytes: number) => void,
): Promise<number[]> {
  const state = readPartState(partPath);
  if (
    state === undefined || state.sha256 !== details.sha256 || state.size !== details.size ||
    state.chunkSize !== details.chunkSize
  ) {
    return [];
  }
  let claimed: number[];
  try {
    claimed = decodeBitmap(state.verified, details.chunkHashes.length);
  } catch {
    return [];
  }
  let file: Deno.FsFile;
  try {
    file = openNoFollow(partPath, { read: true });
  } catch (error) {
    if (error instanceof PeerError) throw error;
    return [];
  }
  using _ = file;
  const buffer = new Uint8Array(details.chunkSize);
  const kept: number[] = [];
  let checked = 0;
  for (const index of claimed) {
    const range = chunkRange(index, details);
    const target = buffer.subarray(0, range.length);
    await file.seek(range.offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < target.length) {
      const n = await file.read(target.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    checked += range.length;
    onProgress?.(checked, details.size);
    if (filled !== target.length) continue;
    if (createHash("sha256").update(target).digest("hex") === details.chunkHashes[index]) {
      kept.push(index);
    }
  }
  return kept;
}

/**
 * The state file of `partPath` when there is one of our shape (a version's SHA-256, size, chunk
 * size and a bitmap), else `undefined`; throws a {@link PeerError} when it is a link.
 *
 * @example
 * ```ts ignore
 * const state = readPartState("downloads/a.bin.part"); // from downloads/a.bin.part.json
 * ```
 */
export function readPartState(partPath: string): PartState | undefined {
  let state: Partial<PartState> | null;
  try {
    using stateFile = openNoFollow(statePath(partPath), { read: true });
    state = JSON.parse(readText(stateFile));
  } catch (error) {
    if (error instanceof PeerError) throw error;
    return undefined;
  }
  if (
    typeof state !== "object" || state === null || typeof state.sha256 !== "string" ||
    typeof state.size !== "number" || typeof state.chunkSize !== "number" ||
    typeof state.verified !== "string"
  ) {
    return undefined;
  }
  return state as PartState;
}

/** Reads a state file (at most 1 MiB: a larger one is not ours) as UTF-8. */
function readText(file: Deno.FsFile): string {
  const size = file.statSync().size;
  if (size > 1024 * 1024) return "";
  const bytes = new Uint8Array(size);
  let filled = 0;
  while (filled < bytes.length) {
    const n = file.readSync(bytes.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return new TextDecoder().decode(bytes.subarray(0, filled));
}
