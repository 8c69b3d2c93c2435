/**
 * The index of a shared folder: every regular file below it, by relative `/`-separated name, with
 * its size, modification time, chunk size and SHA-256 of each chunk and of the whole file.
 * Re-indexing reuses the hashes of files whose size and mtime did not change.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { isAbsolute, join, relative, sep } from "node:path";
import { type FileManifest, isSafeFileName } from "../protocol/mod.ts";
import { chunkSizeFor, DEFAULT_CHUNK_SIZE } from "./chunking.ts";
import { isPartialDownload } from "./part_state.ts";
import { WholeHasher, WORKER_HASH_MIN_BYTES } from "./whole_hasher.ts";

/** One indexed file. */
export interface IndexedFile extends FileManifest {
  /** Absolute path on disk. */
  path: string;
  /** Modification time in ms when it was hashed. */
  mtimeMs: number;
}

/** Options for {@link indexShare}. */
export interface IndexOptions {
  /** Preferred chunk size (default 1 MiB). */
  chunkSize?: number;
  /** A previous index whose unchanged entries are reused. */
  previous?: ReadonlyMap<string, IndexedFile>;
  /** Stops indexing when aborted. */
  signal?: AbortSignal;
}

const READ_BYTES = 4 * 1024 * 1024;

/**
 * Hashes one file: SHA-256 of each chunk and of the whole. The chunk hashes are computed here in
 * 4 MiB reads; for files of {@link WORKER_HASH_MIN_BYTES} and more the whole-file hash runs at the
 * same time on a worker (the second core), and for a file of one chunk it is that chunk's hash.
 *
 * @example
 * ```ts ignore
 * const { sha256, chunkHashes } = await hashFile("a.bin", 1024 * 1024);
 * ```
 */
export async function hashFile(
  path: string,
  chunkSize: number,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string; chunkHashes: string[] }> {
  using file = await Deno.open(path, { read: true });
  const expected = (await file.stat()).size;
  using hasher = expected >= WORKER_HASH_MIN_BYTES ? new WholeHasher(path, expected) : undefined;
  const whole = hasher ? undefined : createHash("sha256");
  const wholeDigest = hasher?.finish();
  wholeDigest?.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
  const chunkHashes: string[] = [];
  let chunk = createHash("sha256");
  let inChunk = 0;
  let size = 0;
  const buffer = new Uint8Array(Math.max(1, Math.min(READ_BYTES, expected)));
  while (true) {
    signal?.throwIfAborted();
    const n = await file.read(buffer);
    if (n === null) break;
    size += n;
    const bytes = buffer.subarray(0, n);
    whole?.update(bytes);
    let at = 0;
    while (at < n) {
      const take = Math.min(chunkSize - inChunk, n - at);
      chunk.update(bytes.subarray(at, at + take));
      inChunk += take;
      at += take;
      if (inChunk === chunkSize) {
        chunkHashes.push(chunk.digest("hex"));
        chunk = createHash("sha256");
        inChunk = 0;
      }
    }
  }
  if (inChunk > 0) chunkHashes.push(chunk.digest("hex"));
  if (size !== expected) {
    throw new Deno.errors.NotFound(`Cannot hash ${path}: it changed size while being read`);
  }
  const sha256 = wholeDigest ? await wholeDigest : whole!.digest("hex");
  return { size, sha256, chunkHashes };
}

/**
 * Indexes every regular file below `root`. Symbolic links are followed only when their target
 * stays inside `root`; names that are not safe relative paths are skipped.
 *
 * @example
 * ```ts ignore
 * const index = await indexShare("./shared");
 * for (const file of index.values()) console.log(file.name, file.size);
 * ```
 */
export async function indexShare(
  root: string,
  options: IndexOptions = {},
): Promise<Map<string, IndexedFile>> {
  const realRoot = await Deno.realPath(root);
  const index = new Map<string, IndexedFile>();
  for (const path of await listFiles(realRoot)) {
    options.signal?.throwIfAborted();
    const name = relative(realRoot, path).split(sep).join("/");
    if (!isSafeFileName(name)) continue;
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(path);
    } catch {
      continue; // vanished while we looked
    }
    if (!stat.isFile) continue;
    const mtimeMs = stat.mtime?.getTime() ?? 0;
    const before = options.previous?.get(name);
    if (before && before.size === stat.size && before.mtimeMs === mtimeMs && before.path === path) {
      index.set(name, before);
      continue;
    }
    const chunkSize = chunkSizeFor(stat.size, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    try {
      const hashed = await hashFile(path, chunkSize, options.signal);
      index.set(name, { name, path, mtimeMs, chunkSize, ...hashed });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
  }
  return index;
}

/** Every file path below `dir`, following links only inside `root`, skipping partial downloads. */
async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (isPartialDownload(entry.name)) continue;
      if (entry.isSymlink) {
        let target: string;
        try {
          target = await Deno.realPath(path);
        } catch {
          continue; // dangling link
        }
        if (!isInside(root, target)) continue;
        const info = await Deno.stat(target);
        if (info.isDirectory) continue; // avoid link cycles: follow links to files only
        found.push(path);
      } else if (entry.isDirectory) {
        await walk(path);
      } else if (entry.isFile) {
        found.push(path);
      }
    }
  };
  await walk(root);
  return found.sort();
}

/**
 * Whether `path` (already resolved) lies inside `root` (already resolved).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isInside } from "./share_index.ts";
 * assert.ok(isInside("/srv/share", "/srv/share/a/b.txt"));
 * assert.ok(!isInside("/srv/share", "/srv/shared/x"));
 * ```
 */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel.split(sep)[0] !== ".." && !isAbsolute(rel);
}
