import assert from "node:assert/strict";
import { join } from "node:path";
import { CliError } from "../../lib/cli/cli_error.ts";
import { parseTrackers, readPeerSettings, shareFolder } from "../../lib/cli/peer_settings.ts";
import { saveSession } from "../../lib/cli/session_store.ts";

const LIST = { name: "list", needsLogin: true };
const REGISTER = { name: "register", needsLogin: false };

const usageError = (pattern: RegExp) => (error: unknown) =>
  error instanceof CliError && error.exitCode === 2 && pattern.test(error.message);

/** Runs `body` with these environment variables set (undefined: unset), then puts them back. */
async function withEnv(
  vars: Record<string, string | undefined>,
  body: () => Promise<void>,
): Promise<void> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (all: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(all)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  };
  set(vars);
  try {
    await body();
  } finally {
    set(before);
  }
}

/** A clean environment for the peer's settings, with the config folder in `dir`. */
const cleanEnv = (dir: string) => ({
  XDG_CONFIG_HOME: dir,
  P2PFS_TRACKER: undefined,
  P2PFS_USER: undefined,
  P2PFS_TLS: undefined,
  P2PFS_TLS_CA: undefined,
  P2PFS_SANDBOXED: undefined,
});

Deno.test("parseTrackers() gives a bare host the tracker's default port and counts duplicates once", () => {
  assert.deepEqual(parseTrackers("a, b:9000, a:7070, [::1]"), [
    { hostname: "a", port: 7070 },
    { hostname: "b", port: 9000 },
    { hostname: "::1", port: 7070 },
  ]);
  assert.throws(() => parseTrackers(" , "), usageError(/expected HOST\[:PORT\]/));
});

Deno.test("readPeerSettings() takes the tracker, the user and TLS from the environment when no flag names them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withEnv(
      { ...cleanEnv(dir), P2PFS_TRACKER: "t1,t2:1", P2PFS_USER: "ann", P2PFS_TLS: "1" },
      async () => {
        const settings = await readPeerSettings(LIST, {});
        assert.deepEqual(settings.tracker, [
          { hostname: "t1", port: 7070 },
          { hostname: "t2", port: 1 },
        ]);
        assert.equal(settings.user, "ann");
        assert.equal(settings.tls, true);
        assert.equal(settings.kept, undefined);
        const flagged = await readPeerSettings(LIST, { tracker: "t3", user: "bo" });
        assert.deepEqual(flagged.tracker, [{ hostname: "t3", port: 7070 }]);
        assert.equal(flagged.user, "bo");
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readPeerSettings() uses the session login kept for these trackers, but not for another user or a command without a login", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withEnv(cleanEnv(dir), async () => {
      const kept = { user: "Ann", token: "tok", expiresAt: Date.now() + 60_000 };
      await saveSession([{ hostname: "127.0.0.1", port: 7070 }], kept);
      const settings = await readPeerSettings(LIST, {});
      assert.equal(settings.user, "Ann");
      assert.deepEqual(settings.kept, kept);
      assert.deepEqual((await readPeerSettings(LIST, { user: "ann" })).kept, kept);
      assert.equal((await readPeerSettings(LIST, { user: "bo" })).kept, undefined);
      await assert.rejects(() => readPeerSettings(REGISTER, {}), usageError(/give --user NAME/));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readPeerSettings() refuses a user name outside the allowed characters", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withEnv(cleanEnv(dir), async () => {
      await assert.rejects(
        () => readPeerSettings(LIST, { user: "a b" }),
        usageError(/Cannot use user name "a b"/),
      );
      await assert.rejects(
        () => readPeerSettings(LIST, { user: ".." }),
        usageError(/not \. or \.\./),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shareFolder() refuses a missing or file share for serve, and creates a missing one for shell", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "missing");
    await assert.rejects(() => shareFolder("serve", missing), usageError(/does not exist/));
    await Deno.writeTextFile(join(dir, "file"), "x");
    await assert.rejects(() => shareFolder("serve", join(dir, "file")), usageError(/is a file/));
    await assert.rejects(() => shareFolder("shell", undefined), usageError(/give --share DIR/));
    await withEnv({ P2PFS_SANDBOXED: "1" }, async () => {
      assert.equal(await shareFolder("shell", missing), await Deno.realPath(missing));
    });
    assert.ok((await Deno.stat(missing)).isDirectory);
    assert.equal(await shareFolder("list", undefined), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
