/**
 * `deno task demo`: in a temporary folder, start a tracker on the embedded KV and three peers as
 * real processes, register them, download a file from the peers that have it, verify it, print
 * what happened, and clean up.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { runPeer, type Started, startProcess } from "./_processes.ts";

const say = (text: string) => console.log(text);

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 20);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

async function main(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-demo-" });
  const running: Started[] = [];
  try {
    say(`p2pfs demo in ${dir}\n`);
    const tracker = await startProcess("tracker.ts", [
      "--port",
      "0",
      "--http-port",
      "0",
      "--kv",
      join(dir, "tracker.kv"),
    ], {
      ready: /^tracker listening on /,
    });
    running.push(tracker);
    const address = tracker.line.replace("tracker listening on ", "").split(" ")[0]!;
    say(`1. ${tracker.line} (Deno KV in ${join(dir, "tracker.kv")})`);

    const env = (user: string) => ({
      P2PFS_TRACKER: address,
      P2PFS_USER: user,
      P2PFS_PASSWORD: `${user}-demo-password`,
    });
    for (const user of ["alice", "bob", "carol"]) {
      const result = await runPeer(["register"], env(user));
      if (result.code !== 0) throw new Error(result.stderr.trim());
    }
    say("2. registered alice, bob and carol (passwords stored as salted scrypt hashes)");

    const photo = new Uint8Array(24 * 1024 * 1024);
    for (let i = 0; i < photo.length; i += 65536) {
      crypto.getRandomValues(photo.subarray(i, i + 65536));
    }
    for (const user of ["alice", "bob"]) {
      await Deno.mkdir(join(dir, user, "albums"), { recursive: true });
      await Deno.writeFile(join(dir, user, "albums", "holiday.raw"), photo);
    }
    await Deno.writeTextFile(join(dir, "alice", "readme.txt"), "Shared by alice.\n");
    await Deno.writeTextFile(join(dir, "bob", "notes.md"), "# Bob's notes\n");
    await Deno.mkdir(join(dir, "carol"));
    for (const user of ["alice", "bob", "carol"]) {
      const peer = await startProcess(
        "peer.ts",
        ["serve", "--share", join(dir, user), "--port", "0"],
        { ready: /^peer \S+ serving /, env: env(user) },
      );
      running.push(peer);
      say(`3. ${peer.line}`);
    }

    const list = await runPeer(["list"], env("carol"));
    say(`\n4. carol lists the files:\n${list.stdout.trimEnd()}\n`);

    const details = await runPeer(["details", "albums/holiday.raw"], env("carol"));
    say(`5. carol asks for details:\n${details.stdout.trimEnd()}\n`);

    const out = join(dir, "carol-downloads");
    const get = await runPeer(
      ["get", "albums/holiday.raw", "--out", out, "--explain", "--json"],
      env("carol"),
    );
    if (get.code !== 0) throw new Error(`download failed: ${get.stderr.trim()}`);
    say(
      `6. carol downloads albums/holiday.raw, ranking the sources by ping and record:\n${get.stderr.trimEnd()}`,
    );
    const result = JSON.parse(get.stdout) as {
      perSource: Record<string, number>;
      path: string;
      size: number;
      sha256: string;
      sources: string[];
      seconds: number;
    };
    const actual = await sha256Of(result.path);
    const original = createHash("sha256").update(photo).digest("hex");
    if (actual !== original) throw new Error(`verification failed: ${actual} != ${original}`);
    const rate = result.size / 1024 / 1024 / result.seconds;
    const shares = Object.entries(result.perSource)
      .map(([user, bytes]) => `${user} ${(bytes / 1024 / 1024).toFixed(0)} MiB`).join(", ");
    say(
      `   saved ${result.path}: ${result.size} bytes in ${result.seconds.toFixed(3)} s ` +
        `(${rate.toFixed(0)} MiB/s), chunks from ${shares}`,
    );
    say(`   SHA-256 ${actual} matches the original ✔\n`);

    // Counts reach every tracker worker within a few seconds (docs/deployment.md): ask until
    // carol's report shows, or 10 s have passed.
    type Counted = { user: string; downloads: number; failures: number };
    let peers: Counted[] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const after = await runPeer(["details", "albums/holiday.raw", "--json"], env("carol"));
      peers = (JSON.parse(after.stdout) as { peers: Counted[] }).peers;
      if (peers.some((p) => p.downloads > 0)) break;
      await new Promise((done) => setTimeout(done, 500));
    }
    say(
      `7. the tracker now counts: ${
        peers.map((p) => `${p.user} ${p.downloads} downloads, ${p.failures} failures`).join("; ")
      }`,
    );
    say("\ndemo finished: a verified transfer between real peer processes.");
    return 0;
  } catch (error) {
    console.error(`demo failed: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    for (const process of running.reverse()) await process.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  Deno.exitCode = await main();
}
