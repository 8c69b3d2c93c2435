/**
 * Which `NAME.part` is ours. Browsers and other downloaders use the same suffix, so a `NAME.part`
 * in the download folder may be another program's work in progress: it must never be truncated,
 * reused or renamed away by a download of ours.
 *
 * The rule: **a `NAME.part` is ours exactly when our state file `NAME.part.json` lies beside it**
 * (see `part_state.ts`). To keep that true of every download, whatever its number of chunks, the
 * state file is written *before* the `.part` is created, and the `.part` is created exclusively
 * (it must not exist yet). A one-chunk file, whose transfer keeps no record of verified chunks,
 * still gets this first state file (with no chunk marked verified): an interrupted one-chunk
 * download is then recognized as ours and simply fetched again, and the state file goes with the
 * `.part` when the download is renamed into place or fails its check. A `.part` without a state
 * file (another program's, or one left by an older p2pfs) is left alone: the download is refused
 * with `FOREIGN_PART`, naming it, and the user moves it away.
 *
 * Callers hold the download's lock (`download_lock.ts`) and have already refused links at these
 * paths (`download_folder.ts`), so no other download of ours races this.
 *
 * @module
 */
import { basename } from "node:path";
import type { FileDetails } from "../protocol/mod.ts";
import { entryExists, writeNewFile } from "./download_folder.ts";
import { PeerError } from "./errors.ts";
import { encodeBitmap, type PartState, readPartState, statePath } from "./part_state.ts";

/**
 * Makes sure `partPath` can be used for `details`: an existing `.part` must be ours (its state
 * file is there), else a `FOREIGN_PART` {@link PeerError} is thrown and nothing is touched; a
 * missing one is created empty, after a state file that marks it ours.
 *
 * @example
 * ```ts ignore
 * using _lock = DownloadLock.acquire(partPath, details.name);
 * await claimPart(partPath, details);
 * ```
 */
export async function claimPart(partPath: string, details: FileDetails): Promise<void> {
  if (entryExists(partPath)) {
    if (readPartState(partPath) === undefined) throw foreign(partPath, details.name);
    return;
  }
  const state: PartState = {
    sha256: details.sha256,
    size: details.size,
    chunkSize: details.chunkSize,
    verified: encodeBitmap([], details.chunkHashes.length),
  };
  try {
    await writeNewFile(statePath(partPath), new TextEncoder().encode(JSON.stringify(state)));
  } catch (cause) {
    throw new PeerError(
      "DISK",
      `Cannot save ${details.name}: cannot write ${statePath(partPath)}: ${
        cause instanceof Error ? cause.message : cause
      }`,
      { cause },
    );
  }
  try {
    // Exclusive: if something appeared at the path meanwhile, it is not ours.
    Deno.openSync(partPath, { write: true, createNew: true }).close();
  } catch (cause) {
    await Deno.remove(statePath(partPath)).catch(() => {});
    if (cause instanceof Deno.errors.AlreadyExists) throw foreign(partPath, details.name);
    throw new PeerError(
      "DISK",
      `Cannot save ${details.name}: cannot create ${partPath}: ${
        cause instanceof Error ? cause.message : cause
      }`,
      { cause },
    );
  }
}

function foreign(partPath: string, name: string): PeerError {
  return new PeerError(
    "FOREIGN_PART",
    `Cannot save ${name}: ${partPath} is not a download of ours (there is no ${
      basename(statePath(partPath))
    } beside it; another program, a browser perhaps, may be writing it), and it is left untouched`,
  );
}
