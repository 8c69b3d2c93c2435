/**
 * The peer command line as people use it: `peer status` against a real tracker and serving peer,
 * and `peer shell` on a real pseudo-terminal (tmux) for completion and history.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makeTempDir,
  PASSWORD,
  pathExists,
  pollUntil,
  registerUsers,
  ROOT,
  runAs,
  runJson,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

interface StatusJson {
  user: string;
  tracker: { address: string; reachable: boolean; tls: boolean; error?: string };
  sessions: number | null;
  peer: { address: string; online: boolean; tls: boolean } | null;
  shared: { files: number; bytes: number } | null;
  downloads: number | null;
  failures: number | null;
  getSandbox: { read: string[]; write: string[] } | null;
}

Deno.test("status --json reports the tracker, the peer as announced and what it shares", async (t) => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await writeFile(share.path, "a.txt", "alpha\n");
  await writeFile(share.path, "docs/b.bin", new Uint8Array(3000));
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using ann = await startPeer("ann", share.path, tracker.address);

  await t.step("a serving peer is online and shares both files and their bytes", async () => {
    const status = await runJson<StatusJson>("ann", tracker.address, [
      "status",
      "--out",
      out.path,
    ]);
    assert.equal(status.user, "ann");
    assert.deepEqual(status.tracker, { address: tracker.address, reachable: true, tls: false });
    assert.ok(status.sessions !== null && status.sessions >= 2, `sessions ${status.sessions}`);
    assert.deepEqual(status.peer, { address: ann.address, online: true, tls: false });
    assert.deepEqual(status.shared, { files: 2, bytes: 6 + 3000 });
    assert.equal(status.downloads, 0);
    assert.equal(status.failures, 0);
    assert.deepEqual(status.getSandbox?.write, [await Deno.realPath(out.path)]);
  });

  await t.step("a user who never announced has no peer and shares nothing", async () => {
    const status = await runJson<StatusJson>("bob", tracker.address, ["status"]);
    assert.equal(status.peer, null);
    assert.deepEqual(status.shared, { files: 0, bytes: 0 });
    assert.equal(status.sessions, 1);
  });

  await t.step("a peer that stopped is shown offline", async () => {
    await ann.stop();
    const status = await runJson<StatusJson>("ann", tracker.address, ["status"]);
    assert.equal(status.peer?.online, false);
  });

  await t.step("an unreachable tracker is reported, with exit code 1", async () => {
    const run = await runAs("ann", "127.0.0.1:1", ["status", "--json"]);
    assert.equal(run.code, 1, run.stderr);
    const status = run.json<StatusJson>();
    assert.equal(status.tracker.reachable, false);
    assert.match(status.tracker.error ?? "", /Cannot reach tracker/);
  });

  await t.step("human output is plain text when piped", async () => {
    const run = await runAs("ann", tracker.address, ["status"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^tracker:\s+127\.0\.0\.1:\d+ \(reachable, plain TCP\)$/m);
    assert.match(run.stdout, /^sharing:\s+2 files, /m);
    assert.ok(!run.stdout.includes("\x1b["), "no escape codes when piped");
  });
});

/** Runs `tmux` with `args` and returns its stdout. */
async function tmux(...args: string[]): Promise<string> {
  const output = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** `peer shell` as `user` in a detached tmux session, killed on dispose. */
async function shellOnTmux(user: string, trackerAddress: string, share: string) {
  const session = `p2pfs-it-${crypto.randomUUID().slice(0, 8)}`;
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [
    `cd ${quote(ROOT)} &&`,
    `NO_COLOR=1 P2PFS_PASSWORD=${quote(PASSWORD)}`,
    quote(Deno.execPath()),
    `run -A peer.ts shell --user ${user}`,
    `--tracker ${trackerAddress} --share ${quote(share)}`,
  ].join(" ");
  await tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40", command);
  const waitFor = (what: string, test: (text: string) => boolean) =>
    pollUntil(what, async () => {
      const text = await tmux("capture-pane", "-p", "-t", session);
      return test(text) ? text : undefined;
    }, { intervalMs: 100 });
  const shell = {
    session,
    /** The screen once `test` holds for it. */
    waitFor,
    /** Resolves once the shell has ended its tmux session. */
    exited: () =>
      pollUntil("the shell to exit", async () => {
        const listed = await tmux("list-sessions", "-F", "#{session_name}").catch(() => "");
        return listed.split("\n").includes(session) ? undefined : true;
      }),
    async [Symbol.asyncDispose]() {
      await tmux("kill-session", "-t", session).catch(() => {});
    },
  };
  try {
    await waitFor(
      "the prompt",
      (text) => new RegExp(`^${user}@127\\.0\\.0\\.1:\\d+>`, "m").test(text),
    );
  } catch (error) {
    await shell[Symbol.asyncDispose]();
    throw error;
  }
  return shell;
}

Deno.test("shell on a terminal completes a file name with Tab and recalls it with Up", async (t) => {
  await using tracker = await startTracker();
  await using annShare = await makeTempDir();
  await using bobShare = await makeTempDir();
  await writeFile(annShare.path, "notes-2024.txt", "meeting at noon\n");
  await writeFile(annShare.path, "other.txt", "x\n");
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using _ann = await startPeer("ann", annShare.path, tracker.address);
  await using shell = await shellOnTmux("bob", tracker.address, bobShare.path);
  const { session, waitFor } = shell;
  {
    await t.step("Tab completes a file name known to the tracker", async () => {
      await tmux("send-keys", "-t", session, "get no", "Tab");
      await waitFor("the completed name", (text) => /> get notes-2024\.txt$/m.test(text));
      await tmux("send-keys", "-t", session, "Enter");
      await waitFor("the download", (text) => /downloaded notes-2024\.txt .*verified/.test(text));
    });

    await t.step("Up recalls the earlier line, which runs again", async () => {
      await tmux("send-keys", "-t", session, "help get", "Enter");
      await waitFor("help for get", (text) => text.includes("Usage: get FILE..."));
      await tmux("send-keys", "-t", session, "Up", "Up");
      await waitFor(
        "the recalled line",
        (text) => /> get notes-2024\.txt\s*$/.test(text.trimEnd()),
      );
      await tmux("send-keys", "-t", session, "Enter");
      await waitFor(
        "the refusal to overwrite",
        (text) => /error: .*notes-2024\.txt exists/.test(text),
      );
    });

    await t.step("Ctrl-D on an empty line leaves the shell", async () => {
      await tmux("send-keys", "-t", session, "C-d");
      await shell.exited();
    });
  }
});

Deno.test("shell on a terminal: Ctrl-C during get cancels it, keeps its chunks, gives the prompt back", async (t) => {
  await using tracker = await startTracker();
  await using annShare = await makeTempDir();
  await using bobShare = await makeTempDir();
  // 16 MiB at 1 MB/s: the get is still running when Ctrl-C comes.
  await writeFile(annShare.path, "big.bin", new Uint8Array(16 * 1024 * 1024).fill(7));
  await registerUsers(tracker.address, ["ann", "bob"]);
  await using _ann = await startPeer("ann", annShare.path, tracker.address, {
    args: ["--max-upload", "1MB/s"],
  });
  await using shell = await shellOnTmux("bob", tracker.address, bobShare.path);
  const { session, waitFor } = shell;
  {
    await t.step("Ctrl-C stops the get with one line and the prompt comes back", async () => {
      await tmux("send-keys", "-t", session, "get big.bin", "Enter");
      await waitFor("the progress line", (text) => /big\.bin\s+\d+%/.test(text));
      await tmux("send-keys", "-t", session, "C-c");
      const text = await waitFor(
        "the cancel line and a fresh prompt",
        (text) =>
          /^cancelled get: verified chunks are kept; run it again to resume$/m.test(text) &&
          /bob@127\.0\.0\.1:\d+> $/.test(text.trimEnd() + " "),
      );
      assert.doesNotMatch(text, /rescan failed|signal has been aborted/);
      assert.ok(await pathExists(join(bobShare.path, "big.bin.part.json")), "progress kept");
      assert.equal(await pathExists(join(bobShare.path, "big.bin")), false);
    });

    await t.step("the shell takes the next command at once", async () => {
      await tmux("send-keys", "-t", session, "status", "Enter");
      await waitFor("the status", (text) => /^downloaded: 0 files/m.test(text));
    });

    await t.step("quit says goodbye", async () => {
      await tmux("send-keys", "-t", session, "quit", "Enter");
      await shell.exited();
    });
  }
});
