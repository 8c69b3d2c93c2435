import assert from "node:assert/strict";
import { FilesProgress } from "../../lib/cli/files_progress.ts";

const fetching = (doneBytes: number, stalledChunks?: number) => ({
  phase: "fetch" as const,
  doneBytes,
  totalBytes: 0,
  activeSources: 2,
  ...(stalledChunks !== undefined ? { stalledChunks } : {}),
});

Deno.test("FilesProgress adds up the bytes of every file and counts the files that ended", () => {
  const files = new FilesProgress(["a", "b", "c"]);
  for (const name of ["a", "b"]) files.started(name);
  files.sized("a", 100);
  files.sized("b", 50);
  assert.deepEqual(files.update("a", fetching(40)), {
    label: "0/3 files",
    phase: "fetch",
    doneBytes: 40,
    totalBytes: 150,
    sources: 2,
  });
  files.ended("a", 100);
  const state = files.update("b", fetching(10));
  assert.equal(state.label, "1/3 files");
  assert.equal(state.doneBytes, 110);
  files.ended("b");
  assert.equal(files.label(), "2/3 files");
});

Deno.test("FilesProgress shows stalled only while every running file is stalled", () => {
  const files = new FilesProgress(["a", "b"]);
  files.started("a");
  files.started("b");
  assert.equal(files.update("a", fetching(1, 3)).stalledChunks, undefined, "b still moves");
  assert.equal(files.update("b", fetching(1, 4)).stalledChunks, 7, "both stalled");
  assert.equal(files.update("b", fetching(2)).stalledChunks, undefined, "b moves again");
  files.ended("b", 10);
  assert.equal(files.update("a", fetching(1, 3)).stalledChunks, 3, "a is all that runs");
});

Deno.test("FilesProgress labels a single file with its name", () => {
  assert.equal(new FilesProgress(["docs/a.pdf"]).label(), "docs/a.pdf");
});

Deno.test("FilesProgress forgets the stall of a file that ended", () => {
  const files = new FilesProgress(["a", "b", "c"]);
  for (const name of ["a", "b", "c"]) files.started(name);
  files.update("b", fetching(1, 4));
  files.ended("b");
  files.update("c", fetching(5));
  assert.equal(files.update("a", fetching(1, 3)).stalledChunks, undefined, "c still moves");
});
