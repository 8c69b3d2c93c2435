import assert from "node:assert/strict";
import fc from "fast-check";
import { checkDetails, chunkSizeFor, PeerError } from "../../lib/peer/mod.ts";
import {
  EMPTY_SHA256,
  type FileDetails,
  manifestId,
  MAX_CHUNK_SIZE,
  MAX_FILE_BYTES,
  MIN_CHUNK_SIZE,
} from "../../lib/protocol/mod.ts";

const MiB = 1024 * 1024;
const TiB = 1024 ** 4;

/** A hash-shaped hex string derived from `n` (not a real digest: the check cannot tell). */
const fakeHash = (n: number) => n.toString(16).padStart(64, "0");

/** Details for a file of `size` bytes in chunks of `chunkSize`, with a matching version id. */
function detailsFor(
  name: string,
  size: number,
  chunkSize = chunkSizeFor(size),
): FileDetails {
  const count = Math.ceil(size / chunkSize);
  const shape = {
    size,
    chunkSize,
    sha256: size === 0 ? EMPTY_SHA256 : fakeHash(size),
    chunkHashes: Array.from({ length: count }, (_, i) => fakeHash(i + 1)),
  };
  return { type: "details", name, id: manifestId(shape), ...shape, peers: [], versions: [] };
}

/** The same details with `change` applied and the version id recomputed. */
function withId(details: FileDetails, change: Partial<FileDetails>): FileDetails {
  const next = { ...details, ...change };
  return { ...next, id: manifestId(next) };
}

function assertRefused(details: FileDetails, asked: string | undefined, message: RegExp): void {
  assert.throws(
    () => checkDetails(details, asked),
    (error) =>
      error instanceof PeerError && error.code === "BAD_DETAILS" && message.test(error.message),
  );
}

Deno.test("checkDetails() accepts honest details of files from 0 bytes up", () => {
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 20_000_000, 16 * MiB + 1, 9 * 1024 ** 3]) {
    checkDetails(detailsFor("a/b.bin", size), "a/b.bin");
    checkDetails(detailsFor("a/b.bin", size));
  }
});

Deno.test("checkDetails() refuses details for another name than the one asked for", () => {
  assertRefused(
    detailsFor(".ssh/authorized_keys", 100),
    "notes.txt",
    /^Cannot download notes\.txt: the tracker answered for another file \(\.ssh\/authorized_keys\)$/,
  );
  // Names are compared exactly: no case folding, no trailing characters.
  assertRefused(detailsFor("Notes.txt", 100), "notes.txt", /another file \(Notes\.txt\)/);
  assertRefused(detailsFor("notes.txt.", 100), "notes.txt", /another file/);
});

Deno.test("checkDetails() refuses a name that is not a safe relative path", () => {
  for (const name of ["../x", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "a\u0000b"]) {
    assertRefused(detailsFor(name, 10), undefined, /not a safe relative path/);
  }
});

Deno.test("checkDetails() refuses a 1 TiB chunk size and a 1 TiB file", () => {
  const huge = { ...detailsFor("big.bin", 10), size: TiB, chunkSize: TiB };
  assertRefused(
    withId(huge, {}),
    "big.bin",
    /^Cannot download big\.bin: the tracker's manifest does not add up: chunk size 1099511627776 is not a power of two from 64 KiB to 16 MiB$/,
  );
  assertRefused(
    withId(detailsFor("big.bin", 10), { size: TiB }),
    "big.bin",
    /does not add up: size 1099511627776 is outside/,
  );
});

Deno.test("checkDetails() refuses chunk sizes outside the protocol's limits or not a power of two", () => {
  for (const chunkSize of [0, -1, 1, MIN_CHUNK_SIZE / 2, MAX_CHUNK_SIZE * 2, 3 * MiB, 0.5, NaN]) {
    const details = { ...detailsFor("a.bin", 10), chunkSize };
    assertRefused(details, "a.bin", /chunk size .* is not a power of two/);
  }
});

Deno.test("checkDetails() refuses a size above the largest file or not a whole number", () => {
  for (const size of [MAX_FILE_BYTES + 1, -1, 1.5, NaN, Number.MAX_SAFE_INTEGER + 2]) {
    assertRefused({ ...detailsFor("a.bin", 10), size }, "a.bin", /size .* is outside/);
  }
});

Deno.test("checkDetails() refuses a chunk count that is not ceil(size / chunkSize)", () => {
  const details = detailsFor("a.bin", 3 * MiB);
  assertRefused(
    withId(details, { chunkHashes: details.chunkHashes.slice(1) }),
    "a.bin",
    /2 chunk hashes for 3145728 bytes in chunks of 1048576 \(expected 3\)/,
  );
  assertRefused(
    withId(details, { chunkHashes: [...details.chunkHashes, fakeHash(9)] }),
    "a.bin",
    /expected 3/,
  );
});

Deno.test("checkDetails() refuses malformed hashes", () => {
  const details = detailsFor("a.bin", 3 * MiB);
  const bad = ["A".repeat(64), "a".repeat(63), "g".repeat(64), ""];
  for (const hash of bad) {
    assertRefused({ ...details, sha256: hash }, "a.bin", /SHA-256 is not 64 hex digits/);
    const chunkHashes = [details.chunkHashes[0]!, hash, details.chunkHashes[2]!];
    assertRefused({ ...details, chunkHashes }, "a.bin", /hash of chunk 1 is not 64 hex digits/);
    assertRefused({ ...details, id: hash }, "a.bin", /version id is not 64 hex digits/);
  }
});

Deno.test("checkDetails() refuses an empty file whose SHA-256 is not that of nothing", () => {
  assertRefused(withId(detailsFor("e", 0), { sha256: fakeHash(1) }), "e", /SHA-256 of nothing/);
});

Deno.test("checkDetails() refuses a version id that is not its manifest's", () => {
  const details = detailsFor("a.bin", 3 * MiB);
  assertRefused(
    { ...details, sha256: fakeHash(77) },
    "a.bin",
    new RegExp(`version id ${details.id} is not the id of its manifest`),
  );
  assertRefused({ ...details, id: fakeHash(5) }, "a.bin", /is not the id of its manifest/);
});

Deno.test("checkDetails() accepts every consistent manifest within the limits (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 64 * 1024 ** 3 }),
      fc.integer({ min: 16, max: 24 }),
      (size, log2) => {
        const chunkSize = 2 ** log2;
        fc.pre(Math.ceil(size / chunkSize) <= 8192);
        checkDetails(detailsFor("x/y.bin", size, chunkSize), "x/y.bin");
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("checkDetails() refuses any change to size, chunk size or hashes that keeps the id (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 * MiB }),
      fc.oneof(
        fc.record({ size: fc.integer({ min: 0, max: 64 * MiB }) }),
        fc.record({ chunkSize: fc.constantFrom(MIN_CHUNK_SIZE, MiB, 4 * MiB, MAX_CHUNK_SIZE) }),
        fc.record({ sha256: fc.integer({ min: 1 }).map(fakeHash) }),
      ),
      (size, change) => {
        const details = detailsFor("a.bin", size);
        const changed = { ...details, ...change };
        fc.pre(JSON.stringify(changed) !== JSON.stringify(details));
        assert.throws(() => checkDetails(changed, "a.bin"), PeerError);
      },
    ),
    { numRuns: 300 },
  );
});
