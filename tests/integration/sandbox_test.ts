/**
 * Sandboxed peers: `serve` runs in a child process whose Deno permissions cover only its share, says
 * so at start, and the permission layer itself refuses what our own path checks would — shown by
 * running code with the very flags the sandbox uses and no checks of ours at all.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sandboxFlags, sandboxScope } from "../../lib/cli/sandbox.ts";
import {
  makeTempDir,
  pollUntil,
  registerUsers,
  ROOT,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

/** Runs `code` as a module under the given permission flags; resolves to exit code and stderr. */
async function runUnder(flags: string[], dir: string, code: string) {
  const script = join(dir, "probe.ts");
  await Deno.writeTextFile(script, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, script],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("sandbox: serve prints its scope: read the share, write nothing", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await registerUsers(tracker.address, ["boxed"]);
  await writeFile(share.path, "a.txt", new TextEncoder().encode("a"));
  await using peer = await startPeer("boxed", share.path, tracker.address);
  const real = await Deno.realPath(share.path);
  await pollUntil("the sandbox line", () =>
    Promise.resolve(
      peer.process.stderr.includes(`sandbox: read ${real}; write nothing; network`)
        ? true
        : undefined,
    ));
});

Deno.test("sandbox: with our own checks bypassed, Deno refuses reads outside the share and any write", async () => {
  await using dir = await makeTempDir();
  const share = join(dir.path, "share");
  await Deno.mkdir(share);
  await Deno.writeTextFile(join(share, "inside.txt"), "inside");
  await Deno.writeTextFile(join(dir.path, "secret.txt"), "secret");
  await Deno.symlink(join(dir.path, "secret.txt"), join(share, "link.txt"));
  await using probes = await makeTempDir();
  const flags = sandboxFlags(sandboxScope("serve", { share })!);

  const inside = await runUnder(
    flags,
    probes.path,
    `console.log(await Deno.readTextFile(${JSON.stringify(join(share, "inside.txt"))}));`,
  );
  // The probe script itself lies outside the share, so Deno must be allowed to load it: the
  // module graph is not subject to --allow-read, only what the code reads at run time.
  assert.equal(inside.code, 0, inside.stderr);

  for (
    const target of [
      join(share, "..", "secret.txt"),
      join(dir.path, "secret.txt"),
      "/etc/passwd",
    ]
  ) {
    const outside = await runUnder(
      flags,
      probes.path,
      `await Deno.readTextFile(${JSON.stringify(target)});`,
    );
    assert.notEqual(outside.code, 0, `read of ${target} was allowed`);
    assert.match(outside.stderr, /NotCapable|Requires read access/);
  }

  const write = await runUnder(
    flags,
    probes.path,
    `await Deno.writeTextFile(${JSON.stringify(join(share, "new.txt"))}, "x");`,
  );
  assert.notEqual(write.code, 0);
  assert.match(write.stderr, /NotCapable|Requires write access/);
});

Deno.test("sandboxScope() gives get its download folder only and shell its share and downloads", () => {
  const get = sandboxScope("get", { out: "/data/downloads" })!;
  assert.deepEqual(get.write, ["/data/downloads"]);
  assert.ok(get.read.includes("/data/downloads"));
  assert.ok(!get.read.some((p) => p === "/" || p === "/data"));
  const shell = sandboxScope("shell", { share: "/srv/share", out: "/srv/dl" })!;
  assert.deepEqual(shell.write, ["/srv/share", "/srv/dl"]);
  assert.equal(sandboxScope("list", {}), null);
});

Deno.test("sandbox: the tracker may read and write only its KV folder", async () => {
  await using kv = await makeTempDir();
  const kvPath = join(kv.path, "t.kv");
  await using tracker = await startTracker({ kvPath });
  const real = await Deno.realPath(kv.path);
  await pollUntil("the tracker's sandbox line", () =>
    Promise.resolve(
      tracker.process.stderr.includes(`tracker: sandbox: read ${real}; write ${real}; network`)
        ? true
        : undefined,
    ));
  const flags = sandboxFlags(sandboxScope("tracker", { kvDir: real })!);
  assert.deepEqual(flags, [
    "--allow-net",
    "--allow-env",
    `--allow-read=${real}`,
    `--allow-write=${real}`,
  ]);
});
