/**
 * The interactive `peer shell`, driven through its stdin by a real process, against a real
 * tracker and a real serving peer.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type DetailsJson,
  makeTempDir,
  registerUsers,
  runAs,
  runJson,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

Deno.test("shell: commands piped to stdin list, show status, download and quit", async (t) => {
  await using tracker = await startTracker();
  await using annShare = await makeTempDir();
  await using bobShare = await makeTempDir();
  const notes = await writeFile(annShare.path, "notes.txt", "meeting at noon\n".repeat(1000));
  await writeFile(annShare.path, "docs/guide.md", "# Guide\n");
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using _ann = await startPeer("ann", annShare.path, tracker.address);
  const shell = (input: string) =>
    runAs("bob", tracker.address, ["shell", "--share", bobShare.path], { stdin: input });

  await t.step("list, status, get and quit each print their result", async () => {
    const run = await shell("list\nstatus\nget notes.txt\nquit\n");
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout;
    assert.match(out, /^p2pfs shell: bob on tracker 127\.0\.0\.1:\d+, serving 0 files/);
    assert.match(out, /^NAME\s+SIZE\s+SOURCES/m);
    assert.match(out, /^docs\/guide\.md\s/m);
    assert.match(out, /^notes\.txt\s/m);
    assert.match(out, /^user:\s+bob$/m);
    assert.match(out, /^tracker:\s+127\.0\.0\.1:\d+ \(connected\)$/m);
    assert.match(out, /^downloaded notes\.txt .* from ann 100% *; SHA-256 verified$/m);
    assert.doesNotMatch(out, /^error:/m);
    assert.match(out, /^bye, bob: logged out of 127\.0\.0\.1:\d+$/m);
  });

  await t.step("the downloaded file lands in the shared folder with the same bytes", async () => {
    assert.deepEqual(await Deno.readFile(join(bobShare.path, "notes.txt")), notes);
  });

  await t.step("a mistake prints an error line and the shell carries on", async () => {
    const run = await shell(
      'get missing.txt\nget notes.txt\nfly away\nlst\nget "notes.txt" --forse\nping\nhelp\nstatus\n',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^error: .*missing\.txt is not shared/m);
    assert.match(run.stdout, /^error: .*notes\.txt exists .*--force/m);
    assert.match(run.stdout, /^error: Cannot run 'fly': unknown command \(type 'help'\)$/m);
    assert.match(run.stdout, /^error: Cannot run 'lst': unknown command; did you mean 'list'\?/m);
    // A mistyped flag is a flag, not a file name.
    assert.match(run.stdout, /^error: Cannot use --forse: unknown option; did you mean --force\?/m);
    assert.doesNotMatch(run.stdout, /--forse is not shared/);
    assert.match(run.stdout, /^error: Cannot run ping: expected one USER$/m);
    assert.match(run.stdout, /^Commands:$/m);
    // The shell now shares what it downloaded before, and ended at end of input.
    assert.match(run.stdout, /^share:\s+.*\(1 files, /m);
  });

  await t.step("a shell that quit has logged out: its peer is shown offline", async () => {
    const details = await runJson<DetailsJson>("ann", tracker.address, ["details", "notes.txt"]);
    const holders = details.peers.map((p) => [p.user, p.online]).sort();
    assert.deepEqual(holders, [["ann", true], ["bob", false]]);
  });
});
