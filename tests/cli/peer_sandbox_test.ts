import assert from "node:assert/strict";
import { flagsFor, parseFlags } from "../../lib/cli/command_spec.ts";
import { PEER_COMMANDS } from "../../lib/cli/peer_command_table.ts";
import { COMMON_FLAGS } from "../../lib/cli/peer_flags.ts";
import { childArgs, runInSandbox } from "../../lib/cli/peer_sandbox.ts";

const command = (name: string) => PEER_COMMANDS.find((c) => c.name === name)!;
const settings = { tracker: [], user: "ann", tls: false, tlsFiles: [], noSandbox: false };

Deno.test("a sandboxed child parses its arguments back to the values and words the parent had", () => {
  const get = command("get");
  const flags = flagsFor(get, "cli", COMMON_FLAGS);
  const values = { out: "/dl/a=b", force: true, sources: "6", "tls-ca": "/ca.pem" };
  const words = ["-starts-with-dash.txt", "--", "plain.txt"];
  const parsed = parseFlags(childArgs("get", values, words).slice(1), flags, "/elsewhere");
  assert.deepEqual(parsed, { values, positionals: words });
});

Deno.test("runInSandbox() leaves commands that are not sandboxed, and --no-sandbox, to run here", async () => {
  assert.equal(await runInSandbox(command("list"), {}, [], settings), undefined);
  // The spec decides, not the name.
  assert.equal(
    await runInSandbox({ ...command("get"), sandboxed: false }, {}, ["a"], settings),
    undefined,
  );
  assert.equal(
    await runInSandbox(command("get"), {}, ["a"], { ...settings, noSandbox: true }),
    undefined,
  );
});
