/**
 * Operators: the first admin, invitations, disabling, resets, the last admin, and refusals to
 * non-admins — real tracker and peer processes on loopback.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type ListedFile,
  makeTempDir,
  PASSWORD,
  pollUntil,
  registerUsers,
  runAs,
  runJson,
  runPeer,
  startPeer,
  startTracker,
  TIMEOUT_MS,
  writeFile,
} from "./_harness.ts";

/** Registers `user` alone (so the order of registrations is known) and checks the output. */
async function register(address: string, user: string, extra: string[] = []) {
  return await runAs(user, address, ["register", ...extra]);
}

const ADMIN_COMMANDS = [
  ["users"],
  ["invite"],
  ["add", "zed"],
  ["disable", "root"],
  ["enable", "root"],
  ["remove", "root"],
  ["reset-password", "root"],
  ["promote", "eve"],
  ["demote", "root"],
  ["kick", "root"],
];

Deno.test("the first account is the tracker's admin, and every admin command is refused to others with one clear line", async () => {
  await using tracker = await startTracker();
  const first = await register(tracker.address, "root");
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trim(), "registered root (the tracker's first account: its admin)");
  const second = await register(tracker.address, "eve");
  assert.equal(second.stdout.trim(), "registered eve");

  for (const args of ADMIN_COMMANDS) {
    const run = await runAs("eve", tracker.address, ["admin", ...args]);
    assert.equal(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, new RegExp(`^error: Cannot run admin ${args[0]}: eve is not an admin`));
  }
  const users = await runJson<{ user: string; admin: boolean }[]>("root", tracker.address, [
    "admin",
    "users",
  ]);
  assert.deepEqual(users.map((u) => [u.user, u.admin]), [["eve", false], ["root", true]]);
});

Deno.test("with --registration invite, only a live code registers: a used, an expired and a forged one are refused", async () => {
  await using tracker = await startTracker({ args: ["--registration", "invite"] });
  // The first account may always register: someone has to hand out codes.
  assert.equal((await register(tracker.address, "root")).code, 0);
  const none = await register(tracker.address, "amy");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /by invitation only/);

  const invite = await runAs("root", tracker.address, ["admin", "invite"]);
  assert.equal(invite.code, 0, invite.stderr);
  const code = invite.stdout.split("\n")[0]!;
  assert.match(code, /^[0-9a-f]{24}$/, "the code alone on the first line");
  assert.equal((await register(tracker.address, "amy", ["--invite", code])).code, 0);
  const used = await register(tracker.address, "ben", ["--invite", code]);
  assert.equal(used.code, 1);
  assert.match(used.stderr, /unknown, used up or expired/);

  const forged = await register(tracker.address, "ben", ["--invite", "0".repeat(24)]);
  assert.equal(forged.code, 1);
  assert.match(forged.stderr, /unknown, used up or expired/);

  const short = await runJson<{ code: string; expiresAt: number }>("root", tracker.address, [
    "admin",
    "invite",
    "--expires",
    "1s",
  ]);
  await pollUntil(
    "the code to expire",
    () => Promise.resolve(Date.now() > short.expiresAt || undefined),
  );
  const expired = await register(tracker.address, "ben", ["--invite", short.code]);
  assert.equal(expired.code, 1);
  assert.match(expired.stderr, /unknown, used up or expired/);
});

Deno.test("disable ends a serving peer's session, its files leave list on both trackers, and it cannot log in until enabled", async () => {
  await using kv = await makeTempDir("p2pfs-it-admin-");
  const kvPath = join(kv.path, "tracker.kv");
  await using one = await startTracker({ kvPath, heartbeatMs: 1_000 });
  await using two = await startTracker({ kvPath, heartbeatMs: 1_000 });
  assert.equal((await register(one.address, "root")).code, 0);
  await registerUsers(one.address, ["sam", "viewer"]);
  await using share = await makeTempDir();
  await writeFile(share.path, "lecture.pdf", new TextEncoder().encode("slides"));
  await using sam = await startPeer("sam", share.path, two.address);
  for (const tracker of [one, two]) {
    await pollUntil("sam's file listed", async () => {
      const files = await runJson<ListedFile[]>("viewer", tracker.address, ["list"]);
      return files.some((f) => f.name === "lecture.pdf") || undefined;
    });
  }

  const disable = await runAs("root", one.address, ["admin", "disable", "sam"]);
  assert.equal(disable.code, 0, disable.stderr);
  assert.match(disable.stdout, /^disabled sam; ended 1 session/);
  for (const tracker of [one, two]) {
    await pollUntil(`sam's file gone from ${tracker.address}`, async () => {
      const files = await runJson<ListedFile[]>("viewer", tracker.address, ["list"]);
      return !files.some((f) => f.name === "lecture.pdf") || undefined;
    });
  }
  const status = await sam.process.wait(TIMEOUT_MS);
  assert.equal(status.code, 1, "the serving peer stops");
  assert.match(sam.process.stderr, /session was ended on the tracker/);
  const login = await runAs("sam", two.address, ["list"]);
  assert.equal(login.code, 1);
  assert.match(login.stderr, /disabled by an operator/);

  assert.equal((await runAs("root", two.address, ["admin", "enable", "sam"])).code, 0);
  assert.equal((await runAs("sam", one.address, ["list"])).code, 0);
});

Deno.test("reset-password prints a one-time password that must be changed before anything else", async () => {
  await using tracker = await startTracker();
  assert.equal((await register(tracker.address, "root")).code, 0);
  await registerUsers(tracker.address, ["kim"]);
  const reset = await runAs("root", tracker.address, ["admin", "reset-password", "kim"]);
  assert.equal(reset.code, 0, reset.stderr);
  const once = reset.stdout.split("\n")[0]!;
  const old = await runAs("kim", tracker.address, ["list"]);
  assert.equal(old.code, 1, "the old password no longer works");

  const blocked = await runAs("kim", tracker.address, ["list"], { env: { P2PFS_PASSWORD: once } });
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, /change it first with 'p2pfs-peer passwd'/);
  const changed = await runPeer(["passwd", "--user", "kim", "--tracker", tracker.address], {
    env: { P2PFS_PASSWORD: once, P2PFS_NEW_PASSWORD: PASSWORD },
  });
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal((await runAs("kim", tracker.address, ["list"])).code, 0);
});

Deno.test("the last admin cannot be demoted, disabled or removed; with another admin it can be demoted", async () => {
  await using tracker = await startTracker();
  assert.equal((await register(tracker.address, "root")).code, 0);
  await registerUsers(tracker.address, ["ivy"]);
  const demote = await runAs("root", tracker.address, ["admin", "demote", "root"]);
  assert.equal(demote.code, 1);
  assert.match(demote.stderr, /without an admin/);
  const self = await runAs("root", tracker.address, ["admin", "disable", "root"]);
  assert.equal(self.code, 1);

  assert.equal((await runAs("root", tracker.address, ["admin", "promote", "ivy"])).code, 0);
  assert.equal((await runAs("ivy", tracker.address, ["admin", "demote", "root"])).code, 0);
  const lastNow = await runAs("ivy", tracker.address, ["admin", "demote", "ivy"]);
  assert.equal(lastNow.code, 1);
  assert.match(lastNow.stderr, /without an admin/);
  const users = await runJson<{ user: string; admin: boolean }[]>("ivy", tracker.address, [
    "admin",
    "users",
  ]);
  assert.deepEqual(users.map((u) => [u.user, u.admin]), [["ivy", true], ["root", false]]);
});

Deno.test("p2pfs-tracker admin promote makes an admin straight in the KV, for recovery", async () => {
  await using kv = await makeTempDir("p2pfs-it-admin-");
  const kvPath = join(kv.path, "tracker.kv");
  {
    await using tracker = await startTracker({ kvPath });
    assert.equal((await register(tracker.address, "root")).code, 0);
    await registerUsers(tracker.address, ["joe"]);
  }
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tracker.ts", "admin", "promote", "joe", "--kv", kvPath],
    cwd: join(import.meta.dirname!, "..", ".."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  assert.match(new TextDecoder().decode(run.stdout), /^joe is an admin/);
  await using tracker = await startTracker({ kvPath });
  const users = await runJson<{ user: string; admin: boolean }[]>("joe", tracker.address, [
    "admin",
    "users",
  ]);
  assert.deepEqual(users.map((u) => [u.user, u.admin]), [["joe", true], ["root", true]]);
});

Deno.test("with --registration closed only admins make accounts, with a one-time password; a removed account's name is held", async () => {
  await using tracker = await startTracker({ args: ["--registration", "closed"] });
  assert.equal((await register(tracker.address, "root")).code, 0);
  const refused = await register(tracker.address, "lou");
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /made by its admins/);

  const add = await runAs("root", tracker.address, ["admin", "add", "lou"]);
  assert.equal(add.code, 0, add.stderr);
  const once = add.stdout.split("\n")[0]!;
  assert.match(once, /^[0-9a-f]{24}$/);
  const first = await runAs("lou", tracker.address, ["list"], { env: { P2PFS_PASSWORD: once } });
  assert.equal(first.code, 1);
  assert.match(first.stderr, /change it first/);

  const remove = await runAs("root", tracker.address, ["admin", "remove", "lou"]);
  assert.equal(remove.code, 0, remove.stderr);
  const gone = await runAs("lou", tracker.address, ["list"], { env: { P2PFS_PASSWORD: once } });
  assert.equal(gone.code, 1);
  const again = await runAs("root", tracker.address, ["admin", "add", "lou"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /taken or held/);
  const audit = await runJson<{ user: string }[]>("root", tracker.address, ["admin", "users"]);
  assert.deepEqual(audit.map((u) => u.user), ["root"]);
});

Deno.test("bad operator input gets a usage error: invite --uses 0, a bad --expires, token without --scope, an unknown action, and bad tracker policies", async () => {
  await using tracker = await startTracker();
  assert.equal((await register(tracker.address, "root")).code, 0);
  for (
    const [args, pattern] of [
      [["invite", "--uses", "0"], /--uses/],
      [["invite", "--expires", "soon"], /--expires/],
      [["token"], /--scope metrics/],
      [["frobnicate"], /expected one of users/],
      [["disable"], /name the account/],
    ] as const
  ) {
    const run = await runAs("root", tracker.address, ["admin", ...args]);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, pattern);
  }
  for (const flags of [["--registration", "sometimes"], ["--dashboard-access", "everyone"]]) {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "tracker.ts",
        "--port",
        "0",
        "--http-port",
        "0",
        "--kv",
        ":memory:",
        ...flags,
      ],
      cwd: join(import.meta.dirname!, "..", ".."),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 2, flags.join(" "));
    assert.match(new TextDecoder().decode(run.stderr), new RegExp(`${flags[0]} must be`));
  }
});
