import assert from "node:assert/strict";
import { join } from "node:path";
import { forgetSession, loadSession, saveSession } from "../../lib/cli/session_store.ts";

const A = [{ hostname: "10.0.0.1", port: 7070 }, { hostname: "10.0.0.2", port: 7070 }];

Deno.test("kept sessions: one per cluster whatever the order of --tracker, none once expired, forgotten on demand", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "p2pfs", "sessions.json");
    assert.equal(await loadSession(A, file), undefined, "no file: no session");
    await saveSession(A, { user: "ann", token: "t1", expiresAt: 2_000 }, file);
    await saveSession([{ hostname: "other", port: 1 }], {
      user: "bo",
      token: "t2",
      expiresAt: 9e15,
    }, file);
    const reversed = [...A].reverse();
    assert.deepEqual(await loadSession(reversed, file, 1_000), {
      user: "ann",
      token: "t1",
      expiresAt: 2_000,
    });
    assert.equal(await loadSession(A, file, 2_000), undefined, "expired");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal(await forgetSession(reversed, file), true);
    assert.equal(await forgetSession(A, file), false);
    assert.equal((await loadSession([{ hostname: "other", port: 1 }], file))?.user, "bo");
    await Deno.writeTextFile(file, "not json");
    assert.equal(await loadSession(A, file), undefined, "a damaged file holds none");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
