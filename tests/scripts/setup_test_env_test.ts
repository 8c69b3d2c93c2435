import assert from "node:assert/strict";
import { hasProgram, setupPlan, TEST_PACKAGES } from "../../scripts/setup_test_env.ts";

const missing = (...names: string[]) => TEST_PACKAGES.filter((p) => names.includes(p.name));

Deno.test("setupPlan() does nothing when every package the tests drive is there", () => {
  assert.deepEqual(setupPlan([], { root: true, aptGet: true }), { action: "none" });
});

Deno.test("setupPlan() installs what is missing with apt-get when running as root", () => {
  const plan = setupPlan(missing("chromium", "bsdutils"), { root: true, aptGet: true });
  assert.deepEqual(plan, {
    action: "install",
    commands: [["apt-get", "update", "-qq"], [
      "apt-get",
      "install",
      "-y",
      "-qq",
      "chromium",
      "bsdutils",
    ]],
  });
});

Deno.test("setupPlan() stops without root and prints the one command to run", () => {
  const plan = setupPlan(missing("tmux", "openssl"), { root: false, aptGet: true });
  assert.equal(plan.action, "stop");
  assert.ok(plan.action === "stop");
  assert.match(plan.message, /^Cannot run the tests: missing openssl \(.*\), tmux \(.*\);/);
  assert.match(plan.message, /\n {2}sudo apt-get install -y openssl tmux$/);
});

Deno.test("the test packages cover Chromium, openssl, tmux and script", () => {
  assert.deepEqual(TEST_PACKAGES.map((p) => p.name), ["chromium", "openssl", "tmux", "bsdutils"]);
});

Deno.test("hasProgram() finds a program on the PATH and not a made-up one", async () => {
  assert.equal(await hasProgram("sh"), true);
  assert.equal(await hasProgram("p2pfs-no-such-program"), false);
  assert.equal(await hasProgram(Deno.execPath()), true);
});
