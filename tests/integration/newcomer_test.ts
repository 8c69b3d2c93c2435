/**
 * A newcomer's first hour, as they would type it: `deno task -q peer ...` from a folder of their
 * own (paths mean what they typed), usage mistakes that exit 2 and say what to do, and errors that
 * name the fix. Real tracker and peer processes on loopback.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makeTempDir,
  NO_CONFIG_HOME,
  PASSWORD,
  pathExists,
  registerUsers,
  ROOT,
  runAs,
  runPeer,
  Spawned,
  startPeer,
  startTracker,
  TIMEOUT_MS,
  writeFile,
} from "./_harness.ts";

const decoder = new TextDecoder();

/**
 * Runs `deno task -q peer ARGS` from `cwd` as a user would: a clean environment, so `deno task`
 * sets `INIT_CWD` to `cwd` itself.
 */
async function taskFrom(cwd: string, args: string[], stdin?: string) {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    XDG_CONFIG_HOME: NO_CONFIG_HOME,
    NO_COLOR: "1",
    P2PFS_PASSWORD: PASSWORD,
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--config", join(ROOT, "deno.json"), "-q", "peer", ...args],
    cwd,
    clearEnv: true,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("paths typed under deno task are taken from the folder it was run from", async (t) => {
  await using home = await makeTempDir("p2pfs-newcomer-");
  await using share = await makeTempDir();
  // The tracker as `deno task tracker --kv ./data/tracker.kv` from the user's folder starts it.
  const trackerProcess = new Spawned("tracker", [
    "tracker.ts",
    "--port",
    "0",
    "--http-port",
    "0",
    "--kv",
    "./data/tracker.kv",
  ], { INIT_CWD: home.path });
  await using _tracker = trackerProcess;
  const ready = await trackerProcess.waitForLine(
    /^tracker listening on (127\.0\.0\.1:\d+)(?: \(\d+ workers\))?$/,
  );
  const tracker = ready[1]!;
  await writeFile(share.path, "notes.txt", "meeting at noon\n");
  await registerUsers(tracker, ["ann", "bob"]);
  await using _ann = await startPeer("ann", share.path, tracker);

  await t.step("tracker --kv ./data/tracker.kv lands in the user's folder", async () => {
    assert.ok(await pathExists(join(home.path, "data", "tracker.kv")));
  });

  await t.step("get --out ./downloads saves into the user's folder and prints where", async () => {
    const run = await taskFrom(home.path, [
      "get",
      "notes.txt",
      "--out",
      "./downloads",
      "--tracker",
      tracker,
      "--user",
      "bob",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const saved = join(await Deno.realPath(home.path), "downloads", "notes.txt");
    assert.equal(await Deno.readTextFile(saved), "meeting at noon\n");
    assert.ok(run.stdout.includes(` to ${saved} `), run.stdout);
    // The quiet form prints no "Task peer deno run ..." line.
    assert.doesNotMatch(run.stderr, /Task peer/);
  });

  await t.step("shell --share ./new-share creates the folder there and says goodbye", async () => {
    const run = await taskFrom(
      home.path,
      ["shell", "--share", "./new-share", "--tracker", tracker, "--user", "bob"],
      "quit\n",
    );
    assert.equal(run.code, 0, run.stderr);
    const created = join(home.path, "new-share");
    assert.ok((await Deno.stat(created)).isDirectory);
    assert.ok(run.stderr.includes(`created ${created}`), run.stderr);
    assert.match(run.stdout, /^bye, bob: logged out of 127\.0\.0\.1:\d+$/m);
  });
});

Deno.test("usage mistakes exit 2 and say what to do", async (t) => {
  await using dir = await makeTempDir();
  const file = join(dir.path, "report.pdf");
  await Deno.writeTextFile(file, "not a folder");
  const peer = (args: string[], env: Record<string, string> = {}) =>
    runPeer([...args, "--tracker", "127.0.0.1:1", "--user", "ann"], { env });
  const cases: Array<[string, string[], RegExp, Record<string, string>?]> = [
    ["a mistyped command", ["lst"], /unknown command; did you mean 'list'\?/],
    ["a mistyped flag", ["list", "--jsn"], /unknown option; did you mean --json\?/],
    ["a file given as --share", ["serve", "--share", file], /is a file, not a folder/],
    [
      "a missing --share folder for serve",
      ["serve", "--share", join(dir.path, "nope")],
      /nope: it does not exist/,
    ],
    ["get with nothing to get", ["get"], /name at least one FILE or --prefix DIR\//],
    ["ping without a user", ["ping"], /expected one USER/],
    [
      "a short password at register",
      ["register"],
      /the password has 5 characters; it needs at least 8 characters/,
      { P2PFS_PASSWORD: "short" },
    ],
    ["a bad --version prefix", ["get", "a.txt", "--version", "xyz"], /4-64 hex digits/],
  ];
  for (const [what, args, pattern, env] of cases) {
    await t.step(what, async () => {
      const run = await peer(args, env);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    });
  }

  await t.step("--version prints the program's version and exits 0", async () => {
    const run = await runPeer(["--version"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^p2pfs-peer \d+\.\d+\.\d+ \(deno \d/);
  });
});

Deno.test("errors name the fix: a port in use, the dashboard's port, an offline peer", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await writeFile(share.path, "a.txt", "alpha\n");
  await registerUsers(tracker.address, ["ann", "bob"]);

  await t.step("a tracker on a taken port names the port and suggests --port 0", async () => {
    await using kv = await makeTempDir();
    const second = new Spawned("tracker 2", [
      "tracker.ts",
      "--port",
      String(tracker.port),
      "--http-port",
      "0",
      "--kv",
      join(kv.path, "t.kv"),
    ]);
    const status = await second.wait();
    assert.equal(status.code, 1);
    assert.match(
      second.stderr,
      new RegExp(
        `Cannot start tracker: port ${tracker.port} on 127\\.0\\.0\\.1 is in use.*--port 0`,
      ),
    );
  });

  await t.step("--tracker at the dashboard's port says it is an HTTP server", async () => {
    const dashboard = new URL(tracker.dashboardUrl);
    const run = await runAs("ann", `127.0.0.1:${dashboard.port}`, ["list"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /it is an HTTP server \(probably the tracker's dashboard\)/);
    assert.doesNotMatch(run.stderr, /1213486160/);
  });

  await t.step("ping of a peer that went offline exits 1", async () => {
    const ann = await startPeer("ann", share.path, tracker.address);
    await ann.stop();
    const run = await runAs("bob", tracker.address, ["ping", "ann"]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /ann at .* is offline/);
  });
});
