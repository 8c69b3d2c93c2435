/**
 * Files of every awkward size, end to end: empty, one byte, around the chunk size, just above the
 * size from which the whole-file hash runs on a worker, 20,000,000 bytes (whose verified prefix
 * ends past the file: the hash once read past the end and failed every time), and sizes drawn by a
 * seeded generator around chunk boundaries. Each is fetched by a real `get` from a real serving
 * peer and compared byte for byte; then each is fetched again from a `.part` left as an
 * interrupted download leaves it (written with the library's own {@link StateSaver}, some chunks
 * verified, one of them damaged), and must complete and verify.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeBitmap, StateSaver, WORKER_HASH_MIN_BYTES } from "../../lib/peer/mod.ts";
import {
  type GetJson,
  makeTempDir,
  MiB,
  randomBytes,
  registerUsers,
  runAs,
  sameBytes,
  sha256Hex,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";
import { Random } from "./_fuzz.ts";

/** The peers' chunk size for every file here. */
const CHUNK = MiB;
const SEED = 20_000_000;

/** The sizes under test, by name: fixed ones, then seeded ones around chunk boundaries. */
function sizes(): Map<string, number> {
  const out = new Map<string, number>([
    ["empty.bin", 0],
    ["one.bin", 1],
    ["chunk-less-1.bin", CHUNK - 1],
    ["chunk.bin", CHUNK],
    ["chunk-plus-1.bin", CHUNK + 1],
    ["worker-plus-1.bin", WORKER_HASH_MIN_BYTES + 1],
    ["twenty-million.bin", 20_000_000],
  ]);
  const random = new Random(SEED);
  for (let i = 0; i < 4; i++) {
    const boundary = (2 + random.int(4)) * CHUNK;
    const offset = random.int(2 * 4096) - 4096;
    out.set(`random-${i}.bin`, boundary + offset);
  }
  return out;
}

interface GetManyJson {
  files: GetJson[];
  failed: { name: string; error: string }[];
}

Deno.test("sizes: every size from 0 bytes up downloads and verifies, in one run and resumed", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["src", "dl"]);
  const files = new Map<string, Uint8Array>();
  for (const [name, size] of sizes()) {
    files.set(name, await writeFile(share.path, name, randomBytes(size)));
  }
  await using peer = await startPeer("src", share.path, tracker.address);
  assert.equal(peer.files, files.size);
  const names = [...files.keys()];

  const getAll = async (dir: string): Promise<GetManyJson> => {
    const run = await runAs(
      "dl",
      tracker.address,
      ["get", ...names, "--out", dir, "--json", "--no-upload"],
      { timeoutMs: 120_000 },
    );
    const result = run.json<GetManyJson>();
    assert.deepEqual(result.failed, [], run.stderr);
    assert.equal(result.files.length, names.length, run.stderr);
    for (const name of names) {
      const saved = await Deno.readFile(join(dir, name));
      assert.ok(sameBytes(saved, files.get(name)!), `${name}: the saved bytes differ`);
    }
    // Only the finished files are left: no .part, state or lock.
    const left = (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort();
    assert.deepEqual(left, [...names].sort());
    return result;
  };

  await t.step("each size downloads in one run and is byte for byte the same", async () => {
    const result = await getAll(join(out.path, "fresh"));
    for (const file of result.files) {
      assert.equal(file.sha256, sha256Hex(files.get(file.name)!), file.name);
      assert.equal(file.reusedBytes, 0, file.name);
    }
  });

  await t.step("each size resumes from an interrupted download's .part and verifies", async () => {
    const dir = join(out.path, "resumed");
    await Deno.mkdir(dir);
    const random = new Random(SEED + 1);
    const kept = new Map<string, number>();
    for (const [name, bytes] of files) {
      const count = Math.ceil(bytes.length / CHUNK);
      // A .part at full length: some chunks written and verified, the rest never written (zeros).
      // Chunk 0 of a file with several is marked verified but damaged: it must be fetched again.
      // The 20,000,000-byte file keeps every chunk: the verified prefix starts past its end.
      const part = new Uint8Array(bytes.length);
      const verified: number[] = [];
      let reused = 0;
      for (let i = 0; i < count; i++) {
        const keep = name === "twenty-million.bin" || random.int(2) === 0;
        if (!keep) continue;
        const start = i * CHUNK;
        const chunk = bytes.subarray(start, Math.min(start + CHUNK, bytes.length));
        part.set(chunk, start);
        verified.push(i);
        reused += chunk.length;
      }
      if (count > 1 && name !== "twenty-million.bin") {
        if (!verified.includes(0)) verified.push(0);
        else reused -= CHUNK;
        part[0] = bytes[0]! ^ 0xff;
      }
      kept.set(name, reused);
      const partPath = join(dir, `${name}.part`);
      await Deno.writeFile(partPath, part);
      await new StateSaver(partPath, () => ({
        sha256: sha256Hex(bytes),
        size: bytes.length,
        chunkSize: CHUNK,
        verified: encodeBitmap(verified, count),
      })).flush();
    }
    const result = await getAll(dir);
    for (const file of result.files) {
      assert.equal(file.reusedBytes, kept.get(file.name), `${file.name}: bytes kept`);
      assert.equal(file.fetchedBytes, file.size - kept.get(file.name)!, `${file.name}: fetched`);
    }
  });
});
