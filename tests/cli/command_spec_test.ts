import assert from "node:assert/strict";
import { CliError } from "../../lib/cli/cli_error.ts";
import {
  checkPositionals,
  findCommand,
  flagsFor,
  parseFlags,
  renderHelp,
} from "../../lib/cli/command_spec.ts";
import { COMMON_FLAGS } from "../../lib/cli/peer_flags.ts";
import { PEER_COMMANDS } from "../../lib/cli/peer_command_table.ts";
import { parseTracker } from "../../lib/cli/peer_settings.ts";
import { nearest } from "../../lib/cli/suggest.ts";

const usageError = (pattern: RegExp) => (error: unknown) =>
  error instanceof CliError && error.exitCode === 2 && pattern.test(error.message);

Deno.test("findCommand() suggests the nearest command for a mistyped one", () => {
  assert.throws(() => findCommand(PEER_COMMANDS, "lst", "cli"), usageError(/did you mean 'list'/));
  assert.throws(
    () => findCommand(PEER_COMMANDS, "detials", "shell"),
    usageError(/did you mean 'details'/),
  );
  assert.throws(() => findCommand(PEER_COMMANDS, "fly", "shell"), usageError(/unknown command/));
});

Deno.test("findCommand() tells which commands run only on the command line or in the shell", () => {
  assert.throws(() => findCommand(PEER_COMMANDS, "serve", "shell"), usageError(/command line/));
  assert.throws(() => findCommand(PEER_COMMANDS, "quit", "cli"), usageError(/in the shell only/));
  assert.equal(findCommand(PEER_COMMANDS, "exit", "shell").name, "quit");
});

Deno.test("parseFlags() suggests the nearest flag of the command (--jsn, --forse)", () => {
  const list = findCommand(PEER_COMMANDS, "list", "cli");
  assert.throws(
    () => parseFlags(["--jsn"], flagsFor(list, "cli", COMMON_FLAGS), "/"),
    usageError(/Cannot use --jsn: unknown option; did you mean --json\?/),
  );
  const get = findCommand(PEER_COMMANDS, "get", "shell");
  assert.throws(
    () => parseFlags(["read me.txt", "--forse"], flagsFor(get, "shell", {}), "/"),
    usageError(/did you mean --force\?/),
  );
});

Deno.test("parseFlags() makes path flags absolute from the folder the command ran in", () => {
  const get = findCommand(PEER_COMMANDS, "get", "cli");
  const parsed = parseFlags(
    ["a.txt", "--out", "./downloads", "--tls-ca=../ca.pem", "-q"],
    flagsFor(get, "cli", COMMON_FLAGS),
    "/home/ann/work",
  );
  assert.equal(parsed.values.out, "/home/ann/work/downloads");
  assert.equal(parsed.values["tls-ca"], "/home/ann/ca.pem");
  assert.equal(parsed.values.quiet, true);
  assert.deepEqual(parsed.positionals, ["a.txt"]);
});

Deno.test("parseFlags() takes words after -- as names, even when they start with -", () => {
  const get = findCommand(PEER_COMMANDS, "get", "shell");
  const parsed = parseFlags(["--force", "--", "-odd.txt"], flagsFor(get, "shell", {}), "/");
  assert.deepEqual(parsed.positionals, ["-odd.txt"]);
  assert.equal(parsed.values.force, true);
});

Deno.test("the shell does not take command-line-only flags such as --out and --tracker", () => {
  const get = findCommand(PEER_COMMANDS, "get", "shell");
  assert.throws(
    () => parseFlags(["a", "--out", "x"], flagsFor(get, "shell", {}), "/"),
    usageError(/--out/),
  );
  assert.throws(
    () => parseFlags(["a", "--tracker", "x"], flagsFor(get, "shell", {}), "/"),
    usageError(/--tracker/),
  );
});

Deno.test("get keeps --version PREFIX for choosing a file version", () => {
  const get = findCommand(PEER_COMMANDS, "get", "cli");
  const parsed = parseFlags(["x", "--version", "abc1"], flagsFor(get, "cli", COMMON_FLAGS), "/");
  assert.equal(parsed.values.version, "abc1");
});

Deno.test("checkPositionals() refuses a missing or an extra word with the usage", () => {
  const ping = findCommand(PEER_COMMANDS, "ping", "cli");
  assert.throws(() => checkPositionals(ping, [], "p2pfs-peer"), usageError(/expected one USER/));
  assert.throws(
    () => checkPositionals(ping, ["a", "b"], "p2pfs-peer"),
    usageError(/unexpected 'b'\nUsage: p2pfs-peer ping USER/),
  );
});

Deno.test("renderHelp() shows the same command with the flags that work where it is typed", () => {
  const get = findCommand(PEER_COMMANDS, "get", "cli");
  const cli = renderHelp(get, "cli", "p2pfs-peer", COMMON_FLAGS);
  const shell = renderHelp(get, "shell", "");
  assert.match(cli, /^Usage: p2pfs-peer get FILE\.\.\./);
  assert.match(cli, /--out DIR/);
  assert.match(cli, /--tracker HOST\[:PORT\]/);
  assert.match(shell, /^Usage: get FILE\.\.\./);
  assert.doesNotMatch(shell, /--out DIR|--tracker/);
  assert.match(shell, /--force/);
});

Deno.test("every command in the table has a summary, usage help and a runner", () => {
  for (const command of PEER_COMMANDS) {
    assert.ok(command.summary && command.help, command.name);
    assert.equal(typeof command.run, "function");
  }
});

Deno.test("parseTracker() uses port 7070 when only a host is given", () => {
  assert.deepEqual(parseTracker("localhost"), { hostname: "localhost", port: 7070 });
  assert.deepEqual(parseTracker("127.0.0.1:9000"), { hostname: "127.0.0.1", port: 9000 });
  assert.throws(() => parseTracker("host:99999"), usageError(/expected HOST:PORT/));
});

Deno.test("nearest() offers nothing for a word far from every candidate", () => {
  assert.equal(nearest("xyz", ["list", "get"]), undefined);
  assert.equal(nearest("lsit", ["list", "get"]), "list");
});

Deno.test("the command table marks serve, shell and get as sandboxed, and get alone as cancellable", () => {
  const names = (pick: (c: (typeof PEER_COMMANDS)[number]) => unknown) =>
    PEER_COMMANDS.filter(pick).map((c) => c.name);
  assert.deepEqual(names((c) => c.sandboxed), ["serve", "shell", "get"]);
  assert.deepEqual(names((c) => c.cancellable), ["get"]);
  assert.match(findCommand(PEER_COMMANDS, "get", "shell").cancellable!.cancelled, /kept/);
});

Deno.test("every command name and alias in the table is used once", () => {
  const all = PEER_COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  assert.deepEqual(all, [...new Set(all)]);
});
