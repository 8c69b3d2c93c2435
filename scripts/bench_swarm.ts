/**
 * `deno task bench:swarm`: swarming on loopback, every peer's upload capped like a lab's links.
 *
 * `SWARM_WORKERS` sets the tracker's `--workers` (default: its own default).
 *
 * 1. Flash crowd: one seed and `SWARM_N` (default 6) downloaders started together, every upload
 *    (the seed's and each `get`'s) capped at `SWARM_CAP` (default 20MB/s), a `SWARM_MB` (default
 *    96) MiB file. Prints the lone time (one `get` alone from the seed), the first, mean and last
 *    finish, the copies the seed uploaded and the bytes that came from other downloaders.
 * 2. Capped sources: four seeds capped at `SWARM_CAP` each, one downloader: its rate against
 *    their sum.
 *
 * Times are wall clock from spawning the `get` processes to their exit (process start, the
 * sandbox's second process, login and `details` included, the same for the lone run); "in get" is
 * the download's own time as `get --json` reports it. Prints its tables; with `--write-docs` also
 * writes them between `<!-- swarm -->` markers in `docs/benchmarks.md` (then formats that file).
 *
 * @module
 */
import { join } from "node:path";
import { ROOT, runPeer, type Started, startProcess, writeRandomFile } from "./_processes.ts";

const MB = 1_000_000;

interface GetJson {
  seconds: number;
  perSource: Record<string, number>;
  size: number;
}

/** Runs one `get --json` as `user`; resolves to its result and seconds from `t0`. */
async function get(
  env: Record<string, string>,
  args: string[],
  t0: number,
): Promise<{ result: GetJson; seconds: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "peer.ts",
      "get",
      ...args,
      "--json",
      "--quiet",
      ...(Deno.env.get("SWARM_DEBUG") ? ["--explain"] : []),
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`get failed: ${new TextDecoder().decode(out.stderr)}`);
  const debug = Deno.env.get("SWARM_DEBUG");
  if (debug) {
    await Deno.writeFile(`${debug}-${env.P2PFS_USER}.txt`, out.stderr);
  }
  return { result: JSON.parse(new TextDecoder().decode(out.stdout)) as GetJson, seconds };
}

async function main(): Promise<void> {
  const n = Number(Deno.env.get("SWARM_N") ?? 6);
  const cap = Deno.env.get("SWARM_CAP") ?? "20MB/s";
  const capMb = Number(/^(\d+)/.exec(cap)?.[1] ?? 20);
  const sizeMb = Number(Deno.env.get("SWARM_MB") ?? 96);
  const bytes = sizeMb * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-bench-swarm-" });
  const running: Started[] = [];
  const log = (text: string) => console.error(text);
  const lines: string[] = [];
  try {
    const share = join(dir, "share");
    await Deno.mkdir(share);
    await writeRandomFile(join(share, "big.bin"), sizeMb);
    const tracker = await startProcess("tracker.ts", [
      "--port",
      "0",
      "--http-port",
      "0",
      "--kv",
      join(dir, "t.kv"),
      ...(Deno.env.get("SWARM_WORKERS") ? ["--workers", Deno.env.get("SWARM_WORKERS")!] : []),
    ], { ready: /^tracker listening/ });
    running.push(tracker);
    const address = tracker.line.replace("tracker listening on ", "").split(" ")[0]!;
    const env = (user: string) => ({
      P2PFS_TRACKER: address,
      P2PFS_USER: user,
      P2PFS_PASSWORD: "bench-password",
    });
    const downloaders = Array.from({ length: n }, (_, i) => `d${i + 1}`);
    const seeds = ["seed1", "seed2", "seed3", "seed4"];
    for (const user of [...seeds, ...downloaders, "lone"]) await runPeer(["register"], env(user));
    const startSeed = async (user: string) => {
      const seed = await startProcess(
        "peer.ts",
        ["serve", "--share", share, "--port", "0", "--max-upload", cap],
        { ready: /serving/, env: env(user) },
      );
      running.push(seed);
      return seed;
    };
    const seed1 = await startSeed("seed1");
    // Every tracker worker lists it before anyone asks (a worker learns of an announcement
    // through the change log it follows).
    for (let listed = 0; listed < 4;) {
      const out = await runPeer(["details", "big.bin"], env("lone"));
      listed = out.code === 0 ? listed + 1 : 0;
      if (out.code !== 0) await new Promise((done) => setTimeout(done, 200));
    }

    // 1. Flash crowd. The lone time first: one get, nobody else.
    const lone = await get(
      env("lone"),
      ["big.bin", "--out", join(dir, "lone"), "--no-upload"],
      performance.now(),
    );
    log(`lone: ${lone.seconds.toFixed(2)} s`);
    const t0 = performance.now();
    const crowd = await Promise.all(downloaders.map((user) =>
      get(env(user), [
        "big.bin",
        "--out",
        join(dir, user),
        "--max-upload",
        cap,
        "--sources",
        "8",
      ], t0)
    ));
    for (const [i, c] of crowd.entries()) {
      const mib = Object.entries(c.result.perSource).map(([u, b]) =>
        `${u} ${(b / 2 ** 20).toFixed(0)}`
      );
      log(
        `${downloaders[i]}: ${c.seconds.toFixed(1)} s (in get ${
          c.result.seconds.toFixed(1)
        } s) from ${mib.join(", ")}`,
      );
    }
    const times = crowd.map((c) => c.seconds).sort((a, b) => a - b);
    const fromSeed = crowd.reduce((sum, c) => sum + (c.result.perSource.seed1 ?? 0), 0);
    const fromPeers = crowd.reduce(
      (sum, c) =>
        sum +
        Object.entries(c.result.perSource).filter(([u]) => u !== "seed1").reduce(
          (a, [, b]) => a + b,
          0,
        ),
      0,
    );
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    lines.push(
      `Flash crowd: 1 seed + ${n} downloaders, every upload capped at ${cap}, ${sizeMb} MiB`,
      "",
      "| lone (in get) | first | mean | last | last × lone | seed uploaded | from other downloaders |",
      "|---:|---:|---:|---:|---:|---:|---:|",
      `| ${lone.seconds.toFixed(1)} s (${lone.result.seconds.toFixed(1)} s) | ${
        times[0]!.toFixed(1)
      } s | ${mean.toFixed(1)} s | ${times.at(-1)!.toFixed(1)} s | ${
        (times.at(-1)! / lone.seconds).toFixed(2)
      }× | ${(fromSeed / bytes).toFixed(2)} copies | ${(fromPeers / 1024 / 1024).toFixed(0)} MiB (${
        (100 * fromPeers / (n * bytes)).toFixed(0)
      }%) |`,
      "",
    );
    log(lines.join("\n"));

    // 2. Capped sources: four seeds, one downloader.
    for (const user of seeds.slice(1)) await startSeed(user);
    const capped = await get(
      env("lone"),
      ["big.bin", "--out", join(dir, "capped"), "--no-upload", "--sources", "4"],
      performance.now(),
    );
    const rate = bytes / MB / capped.seconds;
    const inGet = bytes / MB / capped.result.seconds;
    lines.push(
      `Capped sources: 4 seeds capped at ${cap} each, one downloader, ${sizeMb} MiB`,
      "",
      "| seconds (in get) | rate (in get) | × sum of caps (in get) |",
      "|---:|---:|---:|",
      `| ${capped.seconds.toFixed(1)} (${capped.result.seconds.toFixed(1)}) | ${
        rate.toFixed(1)
      } MB/s (${inGet.toFixed(1)}) | ${(rate / (4 * capMb)).toFixed(2)} (${
        (inGet / (4 * capMb)).toFixed(2)
      }) |`,
      "",
    );
    log(lines.slice(-6).join("\n"));
    void seed1;
  } finally {
    for (const p of running.reverse()) await p.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  if (!Deno.args.includes("--write-docs")) {
    log("not written to docs/benchmarks.md (add --write-docs)");
    return;
  }
  const section = [
    "<!-- swarm -->",
    `Measured with \`deno task bench:swarm\` on ${
      new Date().toISOString().slice(0, 10)
    } (loopback,`,
    `${navigator.hardwareConcurrency} cores shared with other work; wall time from spawning the`,
    "`get` processes to their exit, process start included).",
    "",
    ...lines,
    "<!-- /swarm -->",
  ].join("\n");
  const path = join(ROOT, "docs", "benchmarks.md");
  const text = await Deno.readTextFile(path).catch(() => "# Benchmarks\n");
  const marked = /<!-- swarm -->[\s\S]*<!-- \/swarm -->/;
  await Deno.writeTextFile(
    path,
    marked.test(text) ? text.replace(marked, section) : `${text.trimEnd()}\n\n${section}\n`,
  );
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "docs/benchmarks.md"], cwd: ROOT })
    .output();
}

if (import.meta.main) await main();
