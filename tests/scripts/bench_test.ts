/**
 * `deno task bench` as a newcomer meets it: `--help` prints the usage (and measures nothing), and
 * Ctrl-C leaves no temporary folder behind.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTempDir, pollUntil, ROOT, TIMEOUT_MS } from "../integration/_harness.ts";

const decoder = new TextDecoder();

Deno.test("bench --help prints the usage and leaves docs/benchmarks.md alone", async () => {
  const docs = join(ROOT, "docs", "benchmarks.md");
  const before = await Deno.readTextFile(docs);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/bench.ts", "--help"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, decoder.decode(output.stderr));
  assert.match(decoder.decode(output.stdout), /^Usage: deno task bench \[--write-docs\]/);
  assert.equal(await Deno.readTextFile(docs), before);
});

Deno.test("bench stopped with Ctrl-C removes its temporary folders", async () => {
  await using tmp = await makeTempDir("p2pfs-bench-test-");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/bench.ts"],
    cwd: ROOT,
    env: { TMPDIR: tmp.path, BENCH_MB: "64", BENCH_RUNS: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const benchDirs = async () =>
    (await Array.fromAsync(Deno.readDir(tmp.path))).filter((e) =>
      e.name.startsWith("p2pfs-bench-")
    );
  try {
    // Its files are written once the log line says where.
    await pollUntil("the bench's temporary folder", async () => {
      const dirs = await benchDirs();
      for (const dir of dirs) {
        const entries = await Array.fromAsync(
          Deno.readDir(join(tmp.path, dir.name, "small", "small")),
        )
          .catch(() => []);
        if (entries.length > 10) return true;
      }
      return undefined;
    }, { timeoutMs: TIMEOUT_MS });
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 130, await stderr);
    assert.deepEqual(await benchDirs(), []);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // it exited
    }
    await child.status;
    await stderr;
  }
});
