/**
 * `deno task bench`: measures on loopback, in one run and on the same files, side by side:
 *
 * 1. the wire's limit here: a minimal Deno program copying the file over a loopback socket into a
 *    file (read/write loop, 1 MiB buffers);
 * 2. `get` from 1 source; 3. `get` from 4 sources;
 * 4. 1,000 files of 16 KiB with `get --prefix`;
 * 5. SHA-256 indexing speed of `serve` on the big file.
 *
 * Each transfer runs `BENCH_RUNS` times (default 3) and the median is reported. It prints a table
 * (MB/s, files/s, ratio to the limit, peak RSS of each process), and writes it to
 * `docs/benchmarks.md` only with `--write-docs`. Ctrl-C stops the processes it started and removes
 * its temporary folders. `--help` prints the usage. `BENCH_MB` sets the big file's size (default 1024 MiB). Reading other
 * processes' peak RSS from /proc needs `--allow-all`, which the task passes.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { hashFile } from "../lib/peer/mod.ts";
import { ROOT, runPeer, type Started, startProcess, writeRandomFile } from "./_processes.ts";
import { LOAD_TRACKER_FLAGS, type LoadResult, peakRssMb, runLoad, seedAccounts } from "./load.ts";

const MB = 1_000_000;

const USAGE = `Usage: deno task bench [--write-docs]

Measures transfers on loopback (the wire's limit, get from 1 and 4 sources, 1,000 small files,
indexing), then the tracker under 500 simulated peers, and prints the figures.

Options:
  --write-docs  also write the figures into docs/benchmarks.md
  -h, --help    show this help

Environment: BENCH_MB (big file size, default 1024), BENCH_RUNS (default 3), LOAD_SECONDS
(default 20), BENCH_LOAD_ONLY=1 (only the tracker load), LOAD_ACCOUNTS=protocol (register
every account through the protocol; seeded by default).
Ctrl-C stops the processes it started and removes its temporary folders.`;

/** What to clean up on Ctrl-C: temporary folders and the processes started. */
const live = { dirs: new Set<string>(), children: new Set<Deno.ChildProcess>() };

/** A temporary folder removed at the end, or on Ctrl-C. */
async function tempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  live.dirs.add(dir);
  return dir;
}

async function removeDir(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  live.dirs.delete(dir);
}

/** On Ctrl-C or SIGTERM: stop every process started, remove every temporary folder, exit 130. */
function cleanUpOnSignal(): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.error("bench: interrupted; stopping its processes and removing its temporary folders");
    for (const child of live.children) {
      try {
        child.kill("SIGTERM");
      } catch {
        // it exited meanwhile
      }
    }
    await Promise.race([
      Promise.allSettled([...live.children].map((c) => c.status)),
      new Promise((resolve) => setTimeout(resolve, 5_000)),
    ]);
    // A child killed mid-write may still have a file being closed: try a few times.
    for (const dir of live.dirs) {
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          Deno.removeSync(dir, { recursive: true });
          break;
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

interface Row {
  what: string;
  value: string;
  ratio: string;
  seconds: string;
  rss: string;
}

/** Runs `deno run -A ...args`, sampling its peak RSS; resolves to stdout and the peak. */
async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; peakMb: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  live.children.add(child);
  let peak = 0;
  const sampler = setInterval(() => peak = Math.max(peak, peakRssMb(child.pid) ?? 0), 25);
  const out = await child.output();
  live.children.delete(child);
  clearInterval(sampler);
  if (!out.success) throw new Error(`${args.join(" ")} failed`);
  return { stdout: new TextDecoder().decode(out.stdout), peakMb: peak };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The tracker under load: 500 simulated peers in 4 processes log in, announce 20 files
 * each, then heartbeat, list and ask details for `LOAD_SECONDS` (default 20) against one tracker
 * on a KV file; reports requests/s, p50/p99 latency and the tracker's peak RSS, and writes them as
 * their own section of `docs/benchmarks.md` (between `<!-- tracker-load -->` markers, so the rest
 * of the file is left alone). The accounts are seeded into the KV file first (cheap scrypt cost)
 * and every peer logs in through the protocol; `LOAD_ACCOUNTS=protocol` registers them through
 * the protocol too, which with 500 at once on two cores queues scrypt work past the 10 s deadline
 * of a connection not yet logged in. `BENCH_LOAD_ONLY=1 deno task bench` runs only this part.
 */
async function trackerLoadBench(writeDocs: boolean): Promise<void> {
  const seconds = Number(Deno.env.get("LOAD_SECONDS") ?? 20);
  const seeded = Deno.env.get("LOAD_ACCOUNTS") !== "protocol";
  const dir = await tempDir("p2pfs-bench-load-");
  const kvPath = join(dir, "tracker.kv");
  const options = { seconds, registerPerProcess: seeded ? 5 : 125 };
  let result: LoadResult;
  try {
    if (seeded) await seedAccounts(kvPath, options);
    const tracker = await startProcess(
      "tracker.ts",
      ["--port", "0", "--kv", kvPath, "--workers", "1", ...LOAD_TRACKER_FLAGS],
      { ready: /^tracker listening/ },
    );
    live.children.add(tracker.child);
    try {
      const address = tracker.line.replace("tracker listening on ", "").split(" ")[0]!;
      console.error(`tracker load: 500 peers, ${seconds} s...`);
      result = await runLoad(address, { ...options, trackerPid: tracker.child.pid });
    } finally {
      await tracker.stop();
    }
  } finally {
    await removeDir(dir);
  }
  const ms = (n: number | undefined) => n === undefined ? "" : n.toFixed(1);
  const row = (what: string, count: number, f: { p50: number; p99: number } | undefined) =>
    `| ${what} | ${count} | ${ms(f?.p50)} | ${ms(f?.p99)} |`;
  const table = [
    "| requests | count | p50, ms | p99, ms |",
    "|---|---:|---:|---:|",
    row("all (timed phase)", result.requests, result.latency),
    ...(["heartbeat", "details", "list"] as const).map((op) =>
      row(op, result.byOp[op] ?? 0, result.latencyByOp[op])
    ),
    ...(["register", "login", "announce"] as const).map((op) =>
      row(`set-up: ${op}`, result.setup[op]?.count ?? 0, result.setup[op])
    ),
  ].join("\n");
  const summary = `**${result.requestsPerSecond.toFixed(0)} requests/s**, p50 ${
    ms(result.latency.p50)
  } ms, p99 ${ms(result.latency.p99)} ms, tracker CPU ${
    result.cpuUsPerRequest ?? "?"
  } µs per request, tracker peak RSS ${
    result.trackerPeakRssMb?.toFixed(0) ?? "?"
  } MB, ${result.errors} errors; set-up ${result.setupSeconds.toFixed(1)} s`;
  console.log(`tracker load: ${summary}\n${table}`);
  if (!writeDocs) return;
  const section = `<!-- tracker-load -->
## Tracker under load

Made by \`${
    seeded ? "" : "LOAD_ACCOUNTS=protocol "
  }LOAD_SECONDS=${seconds} deno task bench --write-docs\` on ${
    new Date().toISOString().slice(0, 10)
  }: 500 simulated peers in 4 processes (\`scripts/_load_client.ts\`, one tracker connection
each), ${
    seeded ? "accounts seeded with a cheap scrypt cost, 20 registered" : "every account registered"
  } and logged in, 20 files announced each (10 holders per file, 10,000 holder rows); then
for ${seconds} s an open loop of 2,000 requests/s (one third heartbeats, two thirds \`details\`, a
\`list\` of one folder now and then), latency counted from when each request was due. The clients
run on the same 2 cores; tracker CPU per request is read from \`/proc\`.

${summary}.

${table}

${await Deno.readTextFile(join(ROOT, "docs", "tracker_load_notes.md")).catch(() => "")}
<!-- /tracker-load -->
`;
  const path = join(ROOT, "docs", "benchmarks.md");
  const doc = await Deno.readTextFile(path).catch(() => "# Benchmarks\n");
  const cut = /<!-- tracker-load -->[\s\S]*<!-- \/tracker-load -->\n?/;
  await Deno.writeTextFile(
    path,
    cut.test(doc) ? doc.replace(cut, section) : `${doc.trimEnd()}\n\n${section}`,
  );
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "docs/benchmarks.md"], cwd: ROOT })
    .output();
}

async function main(writeDocs: boolean): Promise<void> {
  const sizeMb = Number(Deno.env.get("BENCH_MB") ?? 1024);
  const runs = Number(Deno.env.get("BENCH_RUNS") ?? 3);
  const bytes = sizeMb * 1024 * 1024;
  const dir = await tempDir("p2pfs-bench-");
  const running: Started[] = [];
  const rows: Row[] = [];
  const log = (text: string) => console.error(text);
  try {
    const bigShare = join(dir, "big");
    const smallShare = join(dir, "small");
    await Deno.mkdir(bigShare);
    await Deno.mkdir(join(smallShare, "small"), { recursive: true });
    const src = join(bigShare, "big.bin");
    await writeRandomFile(src, sizeMb);
    const small = new Uint8Array(16 * 1024);
    for (let i = 0; i < 1000; i++) {
      crypto.getRandomValues(small);
      await Deno.writeFile(join(smallShare, "small", `f${String(i).padStart(4, "0")}.bin`), small);
    }
    log(`files: ${sizeMb} MiB and 1,000 × 16 KiB in ${dir}; ${runs} runs each, median`);

    // 1. The wire's limit.
    const wire: number[] = [];
    let wirePeak = 0;
    for (let i = 0; i < runs; i++) {
      const result = await run(["scripts/wire_copy.ts", src, join(dir, "wire.bin")]);
      wire.push(Number(result.stdout.trim()));
      wirePeak = Math.max(wirePeak, result.peakMb);
      await Deno.remove(join(dir, "wire.bin"));
    }
    const limit = bytes / MB / median(wire);
    rows.push({
      what: "wire limit: minimal socket copy to disk",
      value: `${limit.toFixed(0)} MB/s`,
      ratio: "1.00",
      seconds: median(wire).toFixed(2),
      rss: `${wirePeak.toFixed(0)}`,
    });
    log(`wire: ${limit.toFixed(0)} MB/s`);

    // 5. Indexing speed (the code `serve` runs on every new or changed file).
    const hashing: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await hashFile(src, 1 << 20);
      hashing.push((performance.now() - started) / 1000);
    }

    // A tracker, four seeds sharing the big file, one seed sharing the small files.
    const tracker = await startProcess("tracker.ts", [
      "--workers",
      "1",
      "--port",
      "0",
      "--http-port",
      "0",
      "--kv",
      join(dir, "t.kv"),
    ], {
      ready: /^tracker listening/,
    });
    running.push(tracker);
    live.children.add(tracker.child);
    const address = tracker.line.replace("tracker listening on ", "").split(" ")[0]!;
    const env = (user: string) => ({
      P2PFS_TRACKER: address,
      P2PFS_USER: user,
      P2PFS_PASSWORD: "bench-password",
    });
    const users = ["seed1", "seed2", "seed3", "seed4", "smallseed", "leech"];
    for (const user of users) await runPeer(["register"], env(user));
    const seeds: Started[] = [];
    for (const user of users.slice(0, 4)) {
      const seed = await startProcess("peer.ts", ["serve", "--share", bigShare, "--port", "0"], {
        ready: /serving/,
        env: env(user),
      });
      running.push(seed);
      live.children.add(seed.child);
      seeds.push(seed);
    }
    const smallSeed = await startProcess(
      "peer.ts",
      ["serve", "--share", smallShare, "--port", "0"],
      { ready: /serving/, env: env("smallseed") },
    );
    running.push(smallSeed);
    live.children.add(smallSeed.child);

    const out = join(dir, "out");
    const timeGet = async (label: string, args: string[]) => {
      const seconds: number[] = [];
      let peak = 0;
      for (let i = 0; i < runs; i++) {
        await Deno.remove(out, { recursive: true }).catch(() => {});
        const started = performance.now();
        const result = await run(
          ["peer.ts", "get", ...args, "--out", out, "--quiet"],
          env("leech"),
        );
        seconds.push((performance.now() - started) / 1000);
        peak = Math.max(peak, result.peakMb);
      }
      log(`${label}: ${seconds.map((s) => s.toFixed(2)).join(", ")} s`);
      return { seconds: median(seconds), peak };
    };

    // 2 and 3. One source, then four.
    for (const sources of [1, 4]) {
      const { seconds, peak } = await timeGet(`get, ${sources} source(s)`, [
        "big.bin",
        "--sources",
        String(sources),
      ]);
      const rate = bytes / MB / seconds;
      rows.push({
        what: `get ${sizeMb} MiB from ${sources} source${sources > 1 ? "s" : ""}`,
        value: `${rate.toFixed(0)} MB/s`,
        ratio: (rate / limit).toFixed(2),
        seconds: seconds.toFixed(2),
        rss: `${peak.toFixed(0)} (seeds ≤ ${
          Math.max(...seeds.map((s) => peakRssMb(s.child.pid) ?? 0)).toFixed(0)
        })`,
      });
    }

    // 4. A thousand small files.
    {
      const { seconds, peak } = await timeGet("get --prefix small/", ["--prefix", "small/"]);
      rows.push({
        what: "get --prefix: 1,000 files of 16 KiB",
        value: `${(1000 / seconds).toFixed(0)} files/s`,
        ratio: "",
        seconds: seconds.toFixed(2),
        rss: `${peak.toFixed(0)} (seed ${(peakRssMb(smallSeed.child.pid) ?? 0).toFixed(0)})`,
      });
    }

    const hashRate = bytes / MB / median(hashing);
    rows.push({
      what: "indexing: SHA-256 of every chunk and the whole file",
      value: `${hashRate.toFixed(0)} MB/s`,
      ratio: (hashRate / limit).toFixed(2),
      seconds: median(hashing).toFixed(2),
      rss: "",
    });
  } finally {
    for (const p of running.reverse()) await p.stop();
    await removeDir(dir);
  }

  const table = [
    "| measurement | rate | ratio to wire limit | seconds (median) | peak RSS, MB |",
    "|---|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.ratio} | ${r.seconds} | ${r.rss} |`),
  ].join("\n");
  const machine = `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, ` +
    `Deno ${Deno.version.deno}`;
  const doc = `# Benchmarks

Made by \`BENCH_MB=${sizeMb} BENCH_RUNS=${runs} deno task bench --write-docs\` on ${
    new Date().toISOString().slice(0, 10)
  }: ${machine}, loopback, every process on the same machine, files in the system temp folder.
MB = 10^6 bytes. "get" times are whole commands (start-up, login, details, pings, transfer,
verification, fsync, rename). Peak RSS is each command's VmHWM, its sandboxed child's included.

${table}
`;
  console.log(table);
  if (!writeDocs) {
    log("not written to docs/benchmarks.md (add --write-docs)");
    await trackerLoadBench(false);
    return;
  }
  const notes = await Deno.readTextFile(join(ROOT, "docs", "benchmark_notes.md")).catch(() => "");
  await Deno.writeTextFile(join(ROOT, "docs", "benchmarks.md"), notes ? `${doc}\n${notes}` : doc);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "docs/benchmarks.md"], cwd: ROOT })
    .output();
  log("written to docs/benchmarks.md");
  await trackerLoadBench(true);
}

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: { "write-docs": { type: "boolean" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  cleanUpOnSignal();
  const writeDocs = values["write-docs"] ?? false;
  if (Deno.env.get("BENCH_LOAD_ONLY")) await trackerLoadBench(writeDocs);
  else await main(writeDocs);
  Deno.exit(0);
}
