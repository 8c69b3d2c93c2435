/**
 * `deno task bench`: measures on loopback, side by side on the same file, the wire's limit (a
 * minimal socket copy), `get` from one source, and the share indexer's SHA-256 speed, and writes
 * the table to `docs/benchmarks.md`. `BENCH_MB` sets the file size (default 1024).
 *
 * @module
 */
import { join } from "node:path";
import { hashFile } from "../lib/peer/mod.ts";
import { ROOT, runPeer, type Started, startProcess } from "./_processes.ts";

interface Row {
  what: string;
  mbps: number;
  seconds: number;
  rssMb: string;
}

const MB = 1_000_000;

/** Runs a command, sampling the child's peak RSS (VmHWM) while it runs. */
async function timed(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ seconds: number; peakMb: number; stdout: string }> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let peak = 0;
  const sampler = setInterval(() => peak = Math.max(peak, peakRss(child.pid)), 50);
  const out = await child.output();
  clearInterval(sampler);
  if (!out.success) throw new Error(`${args.join(" ")} failed`);
  return {
    seconds: (performance.now() - started) / 1000,
    peakMb: peak / 1024,
    stdout: new TextDecoder().decode(out.stdout),
  };
}

function peakRss(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const sizeMb = Number(Deno.env.get("BENCH_MB") ?? 1024);
  const bytes = sizeMb * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-bench-" });
  const running: Started[] = [];
  const rows: Row[] = [];
  try {
    const share = join(dir, "share");
    await Deno.mkdir(share);
    const src = join(share, "big.bin");
    {
      using file = await Deno.open(src, { write: true, create: true });
      const block = new Uint8Array(1 << 20);
      for (let i = 0; i < sizeMb; i++) {
        for (let j = 0; j < block.length; j += 65536) {
          crypto.getRandomValues(block.subarray(j, j + 65536));
        }
        await file.write(block);
      }
    }
    console.error(`file: ${sizeMb} MiB in ${dir}`);

    const wire = await timed(["run", "-A", "scripts/wire_copy.ts", src, join(dir, "wire.bin")]);
    const wireSeconds = Number(wire.stdout.trim());
    rows.push({
      what: "wire limit: minimal socket copy to disk",
      mbps: bytes / MB / wireSeconds,
      seconds: wireSeconds,
      rssMb: wire.peakMb.toFixed(0),
    });
    await Deno.remove(join(dir, "wire.bin"));

    const hashStart = performance.now();
    await hashFile(src, 1 << 20);
    const hashSeconds = (performance.now() - hashStart) / 1000;
    rows.push({
      what: "indexing: SHA-256 of chunks and whole file",
      mbps: bytes / MB / hashSeconds,
      seconds: hashSeconds,
      rssMb: "—",
    });

    const tracker = await startProcess("tracker.ts", ["--port", "0", "--kv", join(dir, "t.kv")], {
      ready: /^tracker listening/,
    });
    running.push(tracker);
    const address = tracker.line.replace("tracker listening on ", "");
    const env = (user: string) => ({
      P2PFS_TRACKER: address,
      P2PFS_USER: user,
      P2PFS_PASSWORD: "bench-password",
    });
    for (const user of ["seed", "leech"]) await runPeer(["register"], env(user));
    const seedStart = performance.now();
    const seed = await startProcess("peer.ts", ["serve", "--share", share, "--port", "0"], {
      ready: /serving/,
      env: env("seed"),
    });
    const seedSeconds = (performance.now() - seedStart) / 1000;
    running.push(seed);
    rows.push({
      what: "serve start-up: index and announce",
      mbps: bytes / MB / seedSeconds,
      seconds: seedSeconds,
      rssMb: (peakRss(seed.child.pid) / 1024).toFixed(0),
    });

    const get = await timed([
      "run",
      "-A",
      "peer.ts",
      "get",
      "big.bin",
      "--out",
      join(dir, "out"),
      "--json",
    ], env("leech"));
    const result = JSON.parse(get.stdout) as { seconds: number };
    rows.push({
      what: "get from 1 source (transfer, verify, sync)",
      mbps: bytes / MB / result.seconds,
      seconds: result.seconds,
      rssMb: get.peakMb.toFixed(0),
    });
    rows.push({
      what: "  serving peer during get",
      mbps: NaN,
      seconds: NaN,
      rssMb: (peakRss(seed.child.pid) / 1024).toFixed(0),
    });
  } finally {
    for (const p of running.reverse()) await p.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const limit = rows[0]!.mbps;
  const table = [
    "| measurement | MB/s | ratio to wire limit | seconds | peak RSS (MB) |",
    "|---|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.what} | ${Number.isNaN(r.mbps) ? "" : r.mbps.toFixed(0)} | ${
        Number.isNaN(r.mbps) ? "" : (r.mbps / limit).toFixed(2)
      } | ${Number.isNaN(r.seconds) ? "" : r.seconds.toFixed(2)} | ${r.rssMb} |`
    ),
  ].join("\n");
  const machine =
    `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
  const doc = `# Benchmarks

Made by \`deno task bench\` (\`BENCH_MB=${sizeMb}\`) on ${
    new Date().toISOString().slice(0, 10)
  }, ${machine},
loopback, a ${sizeMb} MiB random file. MB = 10^6 bytes.

${table}
`;
  console.log(table);
  await Deno.writeTextFile(join(ROOT, "docs", "benchmarks.md"), doc);
  console.error("written to docs/benchmarks.md");
}

if (import.meta.main) await main();
