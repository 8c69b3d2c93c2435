/**
 * Commands as data: each command is one {@link Command} (usage, flags, positionals, help, whether
 * it needs a login, and what it runs). The command line and the shell both parse, check and
 * explain a command from its entry here, so they accept the same words and say the same things.
 * Adding a flag to a command is adding one line to its `flags`.
 *
 * @module
 */
import { CliError } from "./cli_error.ts";
import type { CommandContext } from "./command_context.ts";
import { userPath } from "./paths.ts";
import { nearest } from "./suggest.ts";

/** Where a command is typed. */
export type CommandMode = "cli" | "shell";

/** One flag of a command. */
export interface FlagSpec {
  /** A flag with a value (`--out DIR`) or a switch (`--force`). */
  type: "string" | "boolean";
  /** A one-letter form (`q` for `-q`). */
  short?: string;
  /** What the value is called in help (`DIR`). */
  value?: string;
  /** One line of help. */
  help: string;
  /** A path: resolved against the folder the command was run from, and made absolute. */
  path?: boolean;
  /** Only on the command line (the shell has these fixed, e.g. `--out`, `--tracker`). */
  cliOnly?: boolean;
}

/** Flags by name, without the leading `--`. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Parsed flag values: strings, switches (`true`), or absent. */
export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

/** What a command may use to do its work; the command line and the shell each provide one. */
export interface CommandHost {
  /** Where the command was typed. */
  mode: CommandMode;
  /** How the program is called, for messages (`p2pfs-peer`, or empty in the shell). */
  program: string;
  /** Prints output (stdout). */
  print(text: string): void;
  /** Prints notes (stderr on the command line). */
  log(line: string): void;
  /** Whether output may use colour. */
  colour: boolean;
  /** Ctrl-C: cancels this command. */
  signal: AbortSignal;
  /** A logged-in context: the command line logs in on first use, the shell uses its session. */
  login(): Promise<CommandContext>;
}

/** One call of a command: what was typed, parsed, and where. */
export interface CommandCall<H extends CommandHost = CommandHost> {
  /** Flag values (paths already absolute). */
  values: FlagValues;
  /** Words that are not flags. */
  positionals: string[];
  /** The command line or the shell. */
  host: H;
}

/** One command: everything both the command line and the shell need to know about it. */
export interface Command<H extends CommandHost = CommandHost> {
  /** What is typed. */
  name: string;
  /** Other names (`exit` for `quit`). */
  aliases?: readonly string[];
  /** One line for the list of commands. */
  summary: string;
  /** The words after the name, e.g. `FILE... [--out DIR]`. */
  usage: string;
  /** How many positionals, and what they are called in messages. */
  positionals: { name: string; min: number; max: number };
  /** What its positionals name, for the shell's Tab: files, users or commands. */
  completes?: "files" | "users" | "commands";
  /** The command's own flags. */
  flags: FlagSpecs;
  /** What it does, a paragraph or two. */
  help: string;
  /** Example lines, without the program name. */
  examples: readonly string[];
  /** Whether it talks to the tracker as a logged-in user. */
  needsLogin: boolean;
  /** Where it can be typed. */
  modes: readonly CommandMode[];
  /**
   * Whether the command line runs it in a child process whose Deno permissions cover only its
   * folders (see `sandbox.ts`), unless `--no-sandbox`.
   */
  sandboxed?: boolean;
  /**
   * Set when Ctrl-C (or SIGTERM) cancels the command through `host.signal` and it stops cleanly,
   * on the command line as in the shell: `cancelled` says what is kept and what to do next.
   * Without it, Ctrl-C ends the command line's process; the shell says only that it stopped.
   */
  cancellable?: { cancelled: string };
  /** Runs it; resolves to the exit code. */
  run(call: CommandCall<H>): Promise<number>;
}

/** Exit code for usage mistakes. */
export const USAGE_EXIT = 2;

/** Exit code of a `get` that gave up stalled: no online peer had the chunks still needed. */
export const STALLED_EXIT = 3;

/**
 * The command called `name` (or an alias) that can be typed in `mode`; a usage error that
 * suggests the nearest name otherwise.
 */
export function findCommand<H extends CommandHost>(
  table: readonly Command<H>[],
  name: string,
  mode: CommandMode,
): Command<H> {
  const found = table.find((c) => c.name === name || c.aliases?.includes(name));
  if (found && found.modes.includes(mode)) return found;
  if (found) {
    throw new CliError(
      `Cannot run '${name}' ${mode === "shell" ? "in the shell" : "here"}: ${
        mode === "shell" ? "it works on the command line only" : "it works in the shell only"
      }`,
      USAGE_EXIT,
    );
  }
  const names = table.filter((c) => c.modes.includes(mode)).flatMap((c) => [
    c.name,
    ...(c.aliases ?? []),
  ]);
  const guess = nearest(name, names);
  throw new CliError(
    `Cannot run '${name}': unknown command${guess ? `; did you mean '${guess}'?` : ""} (${
      mode === "shell" ? "type 'help'" : "see --help"
    })`,
    USAGE_EXIT,
  );
}

/** The flags a command takes in `mode`: its own, then `common` (command line only). */
export function flagsFor(command: Command<never>, mode: CommandMode, common: FlagSpecs): FlagSpecs {
  const own = Object.entries(command.flags).filter(([, f]) => mode === "cli" || !f.cliOnly);
  const shared = mode === "cli" ? Object.entries(common) : [];
  return Object.fromEntries([
    ...own,
    ...shared,
    ["help", { type: "boolean", short: "h", help: "show this help" } satisfies FlagSpec],
  ]);
}

/**
 * Parses `args` against `flags`: `--name value`, `--name=value`, `-x`, switches, and `--` before
 * words that start with `-`. Path flags are made absolute against `cwd`. Unknown flags are usage
 * errors that suggest the nearest known flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./command_spec.ts";
 * const flags = { out: { type: "string", path: true, help: "" }, force: { type: "boolean", help: "" } } as const;
 * const parsed = parseFlags(["a.txt", "--out", "dl", "--force"], flags, "/home/ann");
 * assert.deepEqual(parsed, { values: { out: "/home/ann/dl", force: true }, positionals: ["a.txt"] });
 * assert.throws(() => parseFlags(["--forse"], flags, "/"), /did you mean --force/);
 * ```
 */
export function parseFlags(
  args: readonly string[],
  flags: FlagSpecs,
  cwd: string,
): { values: Record<string, string | boolean>; positionals: string[] } {
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(flags).filter(([, f]) => f.short).map(([name, f]) => [f.short!, name]),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const typed = eq === -1 ? arg : arg.slice(0, eq);
    const name = typed.startsWith("--") ? typed.slice(2) : byShort.get(typed.slice(1));
    const spec = name === undefined ? undefined : flags[name];
    if (name === undefined || spec === undefined) {
      const known = Object.entries(flags).flatMap(([n, f]) => [
        `--${n}`,
        ...(f.short ? [`-${f.short}`] : []),
      ]);
      const guess = nearest(typed, known);
      throw new CliError(
        `Cannot use ${typed}: unknown option${guess ? `; did you mean ${guess}?` : ""}` +
          " (a file name that starts with '-' goes after --)",
        USAGE_EXIT,
      );
    }
    if (spec.type === "boolean") {
      if (eq !== -1) {
        throw new CliError(`Cannot use ${typed}: it takes no value`, USAGE_EXIT);
      }
      values[name] = true;
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < args.length) value = args[++i]!;
    else {
      throw new CliError(
        `Cannot use ${typed}: give a value (${typed} ${spec.value ?? "VALUE"})`,
        2,
      );
    }
    values[name] = spec.path ? userPath(value, cwd) : value;
  }
  return { values, positionals };
}

/** Checks the number of positionals; a usage error that shows the usage otherwise. */
export function checkPositionals(
  command: Command<never>,
  positionals: readonly string[],
  program: string,
): void {
  const { name, min, max } = command.positionals;
  if (positionals.length >= min && positionals.length <= max) return;
  const expected = max === 0
    ? "no arguments besides options"
    : min === max
    ? `${min === 1 ? "one" : min} ${name}`
    : min === 0
    ? `at most ${max === 1 ? "one" : max} ${name}`
    : `at least ${min === 1 ? "one" : min} ${name}`;
  const extra = max === 0 || positionals.length > max
    ? `; unexpected '${positionals[max] ?? positionals[0]}'`
    : "";
  throw new CliError(
    `Cannot run ${command.name}: expected ${expected}${extra}\nUsage: ${
      program ? `${program} ` : ""
    }${command.name} ${command.usage}`.trimEnd(),
    USAGE_EXIT,
  );
}

/** A command's help: usage, what it does, its flags (those that work in `mode`), examples. */
export function renderHelp(
  command: Command<never>,
  mode: CommandMode,
  program: string,
  common: FlagSpecs = {},
): string {
  const flags = Object.entries(flagsFor(command, mode, {})).filter(([n]) => n !== "help");
  const lines = [
    `Usage: ${program ? `${program} ` : ""}${command.name} ${usageIn(command, mode)}`.trimEnd(),
    "",
    command.help,
  ];
  if (command.aliases?.length) lines.push(`Also: ${command.aliases.join(", ")}.`);
  if (flags.length) lines.push("", "Options:", ...formatFlags(flags));
  if (mode === "cli" && Object.keys(common).length) {
    lines.push("", "Common options:", ...formatFlags(Object.entries(common)));
    lines.push(
      formatFlags([["help", { type: "boolean", short: "h", help: "show this help" }]])[0]!,
    );
  }
  if (command.examples.length) {
    lines.push(
      "",
      command.examples.length === 1 ? "Example:" : "Examples:",
      ...command.examples.map((e) => `  ${mode === "cli" && program ? `${program} ` : ""}${e}`),
    );
  }
  return lines.join("\n");
}

/** A command's usage words without the flags that do not work in `mode`. */
function usageIn(command: Command<never>, mode: CommandMode): string {
  if (mode === "cli") return command.usage;
  let usage = command.usage;
  for (const [name, flag] of Object.entries(command.flags)) {
    if (flag.cliOnly) usage = usage.replace(new RegExp(`\\s*\\[--${name}( [^\\]]+)?\\]`), "");
  }
  return usage;
}

/** The list of commands that can be typed in `mode`. */
export function renderCommandList(table: readonly Command<never>[], mode: CommandMode): string {
  const rows = table.filter((c) => c.modes.includes(mode)).map((c) => {
    const head = [c.name, ...(c.aliases ?? [])].join(", ");
    return [head, c.summary] as const;
  });
  const width = Math.max(...rows.map(([head]) => head.length)) + 2;
  return rows.map(([head, summary]) => `  ${head.padEnd(width)}${summary}`).join("\n");
}

function formatFlags(flags: Array<[string, FlagSpec]>): string[] {
  const heads = flags.map(([name, f]) =>
    `${f.short ? `-${f.short}, ` : ""}--${name}${
      f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""
    }`
  );
  const width = Math.min(24, Math.max(...heads.map((h) => h.length))) + 2;
  return flags.map(([, f], i) => {
    const head = heads[i]!;
    return head.length + 2 > width
      ? `  ${head}\n  ${" ".repeat(width)}${f.help}`
      : `  ${head.padEnd(width)}${f.help}`;
  });
}
