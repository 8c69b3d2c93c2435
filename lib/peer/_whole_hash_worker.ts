/**
 * Worker that hashes a growing file front to back: told how far the file is complete, it reads and
 * hashes up to there, so the whole-file SHA-256 of a download is ready moments after its last
 * chunk, on the second core.
 *
 * Messages in: `{ path, size }` once, then `{ upTo }` (bytes), then `{ finish: size }`.
 * Message out: `{ digest }` or `{ error }`. An `upTo` past `size` means `size`: the hash never
 * reads past the file's end, so it covers exactly the file.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The worker's global scope, typed without pulling the worker lib into the main program. */
const scope = self as unknown as {
  onmessage: (
    event: MessageEvent<{ path?: string; size?: number; upTo?: number; finish?: number }>,
  ) => void;
  postMessage(message: { digest?: string; error?: string }): void;
};
const hash = createHash("sha256");
let file: Deno.FsFile | undefined;
let offset = 0;
/** The file's size: nothing past it is hashed. */
let size = Number.MAX_SAFE_INTEGER;
const buffer = new Uint8Array(4 * 1024 * 1024);
let queue: Promise<void> = Promise.resolve();

async function advance(asked: number): Promise<void> {
  if (!file) return;
  const upTo = Math.min(asked, size);
  while (offset < upTo) {
    const n = await file.read(buffer.subarray(0, Math.min(buffer.length, upTo - offset)));
    if (n === null) throw new Error(`file ended at ${offset} of ${upTo} bytes`);
    hash.update(buffer.subarray(0, n));
    offset += n;
  }
}

scope.onmessage = (event) => {
  const message = event.data;
  queue = queue.then(async () => {
    if (message.size !== undefined) size = message.size;
    if (message.path !== undefined) file = await Deno.open(message.path, { read: true });
    if (message.upTo !== undefined) await advance(message.upTo);
    if (message.finish !== undefined) {
      await advance(message.finish);
      file?.close();
      scope.postMessage({ digest: hash.digest("hex") });
    }
  }).catch((error) => {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  });
};
