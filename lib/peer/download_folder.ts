/**
 * The download folder, written without following links. Each folder of a nested name is made (or
 * checked) one level at a time and must be a real folder, never a symbolic link; `NAME.part`, its
 * state and lock files are opened so that a link, or a file swapped in between the checks, is
 * refused rather than followed. Deno's permission checks look at the path as given, so the sandbox
 * alone would let a link planted in the download folder lead a write outside it.
 *
 * Opening is "lstat, open, compare". Deno has no `O_NOFOLLOW`: `node:fs` accepts the flag, but it
 * is dropped once permissions are narrowed (seen on Deno 2.9.6: a sandboxed `openSync(link,
 * O_WRONLY | O_NOFOLLOW)` opened the link's target). So a new file is made only with `createNew`
 * (`O_CREAT | O_EXCL`, which never follows a link); an existing one is opened without `create` or
 * `truncate`, so opening alone changes nothing; and the opened handle's device and inode must equal
 * those of an `lstat` of the path, which must be a regular file with a single link (a hard link to
 * a file elsewhere is refused too). Only then is anything written.
 *
 * What remains: a process that can rename folders inside the download folder while a download
 * runs could swap a checked folder for a link between the check and the open (Deno has no
 * `openat`). The folders are checked again before the final rename.
 *
 * @module
 */
import { join } from "node:path";
import { PeerError } from "./errors.ts";

/**
 * Makes the folders for `name` under `outDir` and returns the file's path. `outDir` itself is the
 * user's choice and may be a link to a folder; every folder below it must be a real folder.
 * Throws `BAD_PATH` when something in the way is a file, `PATH_ESCAPE` when it is a link.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { prepareFolders } from "./download_folder.ts";
 * const out = await Deno.makeTempDir();
 * assert.equal(prepareFolders(out, "docs/a.txt"), join(out, "docs", "a.txt"));
 * assert.ok(Deno.statSync(join(out, "docs")).isDirectory);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export function prepareFolders(outDir: string, name: string): string {
  try {
    if (!Deno.statSync(outDir).isDirectory) {
      throw new PeerError(
        "BAD_PATH",
        `Cannot save ${name}: the download folder ${outDir} is a file, not a folder`,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw describeFsError(error, name, outDir);
    try {
      Deno.mkdirSync(outDir, { recursive: true });
    } catch (cause) {
      throw describeFsError(cause, name, outDir);
    }
  }
  const parts = name.split("/");
  let folder = outDir;
  for (const part of parts.slice(0, -1)) {
    folder = join(folder, part);
    const info = lstatOrNull(folder);
    if (info === null) {
      try {
        Deno.mkdirSync(folder);
      } catch (cause) {
        if (!(cause instanceof Deno.errors.AlreadyExists)) {
          throw describeFsError(cause, name, folder);
        }
      }
    }
    checkFolder(lstatOrNull(folder), folder, name);
  }
  return join(folder, parts.at(-1)!);
}

/**
 * Refuses a path a download would write that is a link, a folder or anything but a regular file
 * (a missing path is fine).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { refuseNonFile } from "./download_folder.ts";
 * const dir = await Deno.makeTempDir();
 * assert.throws(() => refuseNonFile(dir, "a.txt"), /is a folder/);
 * refuseNonFile(`${dir}/missing`, "a.txt");
 * await Deno.remove(dir);
 * ```
 */
export function refuseNonFile(path: string, name: string): void {
  const info = lstatOrNull(path);
  if (info === null || info.isFile) return;
  if (info.isSymlink) {
    throw new PeerError(
      "PATH_ESCAPE",
      `Cannot save ${name}: ${path} is a symbolic link, and downloads never follow links in the download folder`,
    );
  }
  throw new PeerError(
    "BAD_PATH",
    `Cannot save ${name}: ${path} is ${info.isDirectory ? "a folder" : "not a regular file"}`,
  );
}

/**
 * Opens `path` without following a link: makes it with `createNew` when it is missing and
 * `create` is set, else opens the regular file there; then checks that the handle is the file at
 * the path. Throws `PATH_ESCAPE` for a link or a swapped file, `NotFound` when it is missing and
 * `create` is not set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openNoFollow } from "./download_folder.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/outside`, "keep");
 * await Deno.symlink(`${dir}/outside`, `${dir}/a.part`);
 * assert.throws(() => openNoFollow(`${dir}/a.part`, { write: true, create: true }), /symbolic link/);
 * assert.equal(await Deno.readTextFile(`${dir}/outside`), "keep");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openNoFollow(
  path: string,
  options: { read?: boolean; write?: boolean; create?: boolean },
): Deno.FsFile {
  const read = options.read ?? false;
  const write = options.write ?? false;
  let file: Deno.FsFile | undefined;
  if (options.create && lstatOrNull(path) === null) {
    try {
      file = Deno.openSync(path, { read, write: true, createNew: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      // something appeared meanwhile: treat it as an existing entry below
    }
  }
  if (file === undefined) {
    const before = lstatOrNull(path);
    if (before === null) throw new Deno.errors.NotFound(`Cannot open ${path}: it does not exist`);
    if (before.isSymlink || !before.isFile) throw notAFile(path, before);
    file = Deno.openSync(path, { read, write });
  }
  try {
    const opened = file.statSync();
    const now = lstatOrNull(path);
    if (now === null || !now.isFile || opened.dev !== now.dev || opened.ino !== now.ino) {
      throw new PeerError(
        "PATH_ESCAPE",
        `Cannot open ${path}: it was replaced while being opened (a link or another file was swapped in)`,
      );
    }
    if ((opened.nlink ?? 1) > 1) {
      throw new PeerError(
        "PATH_ESCAPE",
        `Cannot open ${path}: it is a hard link to a file elsewhere (${opened.nlink} names)`,
      );
    }
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}

/** Whether `file` is still the regular file at `path` (nothing was swapped in since it was opened). */
export function isStillAt(file: Deno.FsFile, path: string): boolean {
  try {
    const opened = file.statSync();
    const now = Deno.lstatSync(path);
    return now.isFile && opened.dev === now.dev && opened.ino === now.ino;
  } catch {
    return false;
  }
}

/**
 * Writes `bytes` to a new file at `path`, first removing whatever entry is there (a link is
 * removed, never followed). Used for temporary files that are then renamed into place.
 */
export async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.writeFile(path, bytes, { createNew: true });
}

function checkFolder(info: Deno.FileInfo | null, folder: string, name: string): void {
  if (info?.isDirectory) return;
  if (info?.isSymlink) {
    throw new PeerError(
      "PATH_ESCAPE",
      `Cannot save ${name}: ${folder} is a symbolic link, and downloads never follow links in the download folder`,
    );
  }
  throw new PeerError(
    "BAD_PATH",
    `Cannot save ${name}: ${folder} is ${info ? "a file, not a folder" : "missing"}`,
  );
}

function notAFile(path: string, info: Deno.FileInfo): PeerError {
  return info.isSymlink
    ? new PeerError(
      "PATH_ESCAPE",
      `Cannot open ${path}: it is a symbolic link, and downloads never follow links in the download folder`,
    )
    : new PeerError(
      "BAD_PATH",
      `Cannot open ${path}: it is ${info.isDirectory ? "a folder" : "not a regular file"}`,
    );
}

function describeFsError(error: unknown, name: string, path: string): unknown {
  if (error instanceof PeerError) return error;
  if (error instanceof Deno.errors.PermissionDenied) return error;
  const why = error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.AlreadyExists
    ? "a file is in the way of a folder"
    : error instanceof Error
    ? error.message
    : String(error);
  return new PeerError("BAD_PATH", `Cannot save ${name}: cannot make the folder ${path}: ${why}`, {
    cause: error,
  });
}

/**
 * Whether anything is at `path`: a file, a folder or a link (never followed, so a dangling link
 * counts too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryExists } from "./download_folder.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.symlink(`${dir}/nowhere`, `${dir}/link`);
 * assert.ok(entryExists(`${dir}/link`));
 * assert.ok(!entryExists(`${dir}/nowhere`));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function entryExists(path: string): boolean {
  return lstatOrNull(path) !== null;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
