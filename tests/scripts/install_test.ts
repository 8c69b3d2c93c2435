/**
 * `deno task install` puts `p2pfs-tracker` and `p2pfs-peer` on the PATH with the tasks'
 * permissions; run into a temporary `--root` here.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROGRAM_PERMISSIONS } from "../../scripts/install.ts";
import { compileFailure } from "../../scripts/compile.ts";
import { makeTempDir, ROOT } from "../integration/_harness.ts";

const decoder = new TextDecoder();

async function run(program: string, args: string[], cwd = ROOT) {
  const output = await new Deno.Command(program, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("deno task install puts p2pfs-tracker and p2pfs-peer on the PATH", async (t) => {
  await using root = await makeTempDir("p2pfs-install-");
  const installed = await run(Deno.execPath(), ["task", "-q", "install", "--root", root.path]);
  assert.equal(installed.code, 0, installed.stderr);
  assert.match(installed.stdout, /^installed p2pfs-tracker$/m);
  assert.match(installed.stdout, /^installed p2pfs-peer$/m);
  const bin = (name: string) => join(root.path, "bin", name);

  await t.step("p2pfs-peer --version and --help work from any folder", async () => {
    const version = await run(bin("p2pfs-peer"), ["--version"], root.path);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^p2pfs-peer \d+\.\d+\.\d+ \(deno /);
    const help = await run(bin("p2pfs-peer"), ["--help"], root.path);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: p2pfs-peer <command> \[options\]/);
  });

  await t.step("p2pfs-tracker --version works", async () => {
    const version = await run(bin("p2pfs-tracker"), ["--version"], root.path);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^p2pfs-tracker \d+\.\d+\.\d+/);
  });

  await t.step("the installed commands have the same permissions as the tasks", async () => {
    const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks;
    for (const [name, task] of [["p2pfs-peer", tasks.peer], ["p2pfs-tracker", tasks.tracker]]) {
      const shim = await Deno.readTextFile(bin(name));
      for (const flag of PROGRAM_PERMISSIONS) {
        assert.ok(shim.includes(flag), `${name} has ${flag}`);
        assert.ok(String(task).includes(flag), `the task has ${flag}`);
      }
    }
  });
});

Deno.test("compileFailure() says which download failed, for the one-line compile error", () => {
  const stderr =
    "\x1b[31merror\x1b[0m: Writing deno compile executable\n\nCaused by:\n    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort.zip): client error\n";
  assert.equal(
    compileFailure(stderr),
    "cannot download https://dl.deno.land/release/v2.9.6/denort.zip",
  );
  assert.equal(compileFailure("error: something else\n"), "something else");
});
