/**
 * Writing to a terminal that may go away: the width to lay text out in, and a write that never
 * throws (a closed terminal ends the session on its next read; output that cannot be shown is
 * dropped). The line reader and the progress line use these.
 *
 * @module
 */

/** Something text can be written to at once, such as `Deno.stdout`. */
export interface SyncWriter {
  /** Writes bytes, returning how many were written. */
  writeSync(p: Uint8Array): number;
}

const encoder = new TextEncoder();

/**
 * The terminal's width in columns, or 80 when there is no terminal (or it says 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { terminalColumns } from "./terminal.ts";
 * assert.ok(terminalColumns() > 0);
 * ```
 */
export function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/**
 * Writes `text` to `output`, ignoring a failure: the terminal went away, and output to it is
 * optional from then on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeOrDrop } from "./terminal.ts";
 * const gone = { writeSync(): number { throw new Error("Broken pipe"); } };
 * assert.doesNotThrow(() => writeOrDrop(gone, "hello"));
 * ```
 */
export function writeOrDrop(output: SyncWriter, text: string): void {
  try {
    output.writeSync(encoder.encode(text));
  } catch {
    // the terminal went away
  }
}
