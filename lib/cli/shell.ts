/**
 * `peer shell`: an interactive session. The peer serves its folder while the user types commands;
 * the session ends with `quit`, `logout`, end of input or Ctrl-C.
 *
 * @module
 */
import {
  formatAddress,
  formatTrackers,
  type PeerNode,
  type TrackerAddress,
  TrackerClient,
} from "../peer/mod.ts";
import type { ClientTls } from "../protocol/mod.ts";
import { describeError } from "./peer_cli.ts";
import {
  type CommandContext,
  detailsCommand,
  getCommand,
  listCommand,
  pingCommand,
} from "./peer_commands.ts";
import { formatBytes } from "./format.ts";
import { colourFor, paint } from "./colour.ts";
import { type CompletionTarget, splitWords } from "./completion.ts";
import { TerminalLineReader } from "./terminal_line_reader.ts";
import { visible } from "./visible.ts";

export { splitWords };

/** Settings of {@link runShell}. */
export interface ShellOptions {
  /** The tracker, or several of one cluster. */
  tracker: TrackerAddress | readonly TrackerAddress[];
  /** Who is logged in. */
  user: string;
  /** The password (for reconnecting). */
  password: string;
  /** Where `get` saves files (default: the shared folder, so they are shared on). */
  outDir: string;
  /** TLS for the tracker and TLS peers. */
  tls?: ClientTls;
  /** Lets the shell take over where the serving peer's notes are printed. */
  setLog?: (print: (line: string) => void) => void;
}

const HELP = `Commands:
  help [COMMAND]       this list, or more about one command
  list [TEXT]          files available (matching TEXT)
  details FILE         size, hashes and holders of FILE
  ping USER            check USER's peer directly
  get FILE... [--force] download into the shared folder (then shared on)
  status               who you are, the tracker, what you share
  logout, quit         log out and leave
File names with spaces go in double quotes. On a terminal: Tab completes commands, file
names and user names; Up/Down recall earlier lines; Ctrl-A/E/U/K/W edit; Ctrl-C clears the
line; Ctrl-D on an empty line leaves.`;

/** `help COMMAND`: what each shell command does, with an example. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  help: "help [COMMAND]\n  Lists the commands, or tells more about one.\n  Example: help get",
  list:
    "list [TEXT]\n  Files with an online source whose names contain TEXT (any case).\n  Example: list report",
  details:
    "details FILE\n  Size, SHA-256, chunks and every holder of FILE with its stats.\n  Example: details docs/report.pdf",
  ping: "ping USER\n  Connects to USER's peer directly and times a ping.\n  Example: ping bob",
  get:
    'get FILE... [--force]\n  Downloads into the shared folder (so it is shared on), verified; --force replaces\n  a file that exists.\n  Example: get notes.txt "my photo.jpg"',
  status:
    "status\n  Who you are, the tracker, what you share, uploads and downloads of this session.",
  logout: "logout\n  Logs out and leaves (same as quit).",
  quit: "quit\n  Logs out and leaves (also: exit, Ctrl-D on an empty line).",
  exit: "exit\n  Logs out and leaves (same as quit).",
};

/** Shell command names, for completion. */
export const SHELL_COMMANDS: readonly string[] = Object.keys(COMMAND_HELP);

/** How long names fetched for completion are reused. */
const COMPLETION_CACHE_MS = 5_000;

/**
 * Candidates for the word being completed: command names first, then file names (for `get`,
 * `details`), user names (for `ping`) or command names (for `help`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completionSource } from "./shell.ts";
 * assert.equal(completionSource({ words: [], prefix: "de" }), "commands");
 * assert.equal(completionSource({ words: ["get", "a.txt"], prefix: "" }), "files");
 * assert.equal(completionSource({ words: ["ping", "bob"], prefix: "" }), "none");
 * ```
 */
export function completionSource(
  target: CompletionTarget,
): "commands" | "files" | "users" | "none" {
  const [command, ...args] = target.words;
  if (command === undefined) return "commands";
  if (command === "get" || (command === "details" && args.length === 0)) return "files";
  if (command === "ping" && args.length === 0) return "users";
  if (command === "help" && args.length === 0) return "commands";
  return "none";
}

/** Runs the interactive loop until the user leaves. */
export async function runShell(node: PeerNode, options: ShellOptions): Promise<void> {
  const interactive = Deno.stdin.isTerminal();
  const colour = colourFor(Deno.stdout);
  const where = formatTrackers(options.tracker);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const print = (text: string) => console.log(text);
  print(
    `p2pfs shell: ${options.user} on tracker ${where}, serving ${node.files.size} files on ${
      formatAddress(node.addr.hostname, node.addr.port)
    }. Type 'help'.`,
  );
  let client: TrackerClient | undefined;
  const tracker = async (): Promise<{ client: TrackerClient; token: string }> => {
    const token = node.session?.token;
    if (!token) {
      throw new Error("Cannot reach the tracker right now: reconnecting, try again shortly");
    }
    client ??= await TrackerClient.connect(options.tracker, {
      agent: "p2pfs-shell",
      ...(options.tls ? { tls: options.tls } : {}),
    });
    return { client, token };
  };

  // Names for Tab, fetched from the tracker and reused for a few seconds.
  let files: { at: number; names: string[] } | undefined;
  let users: { at: number; names: string[] } | undefined;
  const fileNames = async (): Promise<string[]> => {
    if (files && performance.now() - files.at < COMPLETION_CACHE_MS) return files.names;
    const { client, token } = await tracker();
    const names = (await client.list(token, {})).map((f) => f.name);
    files = { at: performance.now(), names };
    return names;
  };
  // User names: the holders of up to 20 listed files (there is no user list request).
  const userNames = async (): Promise<string[]> => {
    if (users && performance.now() - users.at < COMPLETION_CACHE_MS) return users.names;
    const { client, token } = await tracker();
    const names = new Set<string>();
    await Promise.all(
      (await fileNames()).slice(0, 20).map(async (name) => {
        const details = await client.details(token, name).catch(() => undefined);
        for (const peer of details?.peers ?? []) {
          if (peer.user !== options.user) names.add(peer.user);
        }
      }),
    );
    users = { at: performance.now(), names: [...names] };
    return users.names;
  };
  // Names with characters that would be written out are not offered: completion would put them
  // raw into the line being edited.
  const shown = (names: string[]) => names.filter((name) => visible(name) === name);
  const complete = async (target: CompletionTarget): Promise<readonly string[]> => {
    switch (completionSource(target)) {
      case "commands":
        return SHELL_COMMANDS;
      case "files":
        return shown(await fileNames());
      case "users":
        return shown(await userNames());
      default:
        return [];
    }
  };

  // Uploads: bytes served, sampled each second for a current rate. Downloads: this session's.
  const samples: Array<[number, number]> = [[performance.now(), node.bytesSent]];
  const sampler = setInterval(() => {
    samples.push([performance.now(), node.bytesSent]);
    if (samples.length > 6) samples.shift();
  }, 1000);
  Deno.unrefTimer(sampler);
  const downloaded = { files: 0, bytes: 0, failed: 0 };

  const prompt = interactive
    ? `${paint("cyan", options.user, colour)}@${paint("dim", where, colour)}> `
    : "";
  const reader = interactive
    ? new TerminalLineReader({ complete, signal: stop.signal })
    : undefined;
  // The serving peer's notes go above the line being edited instead of through it.
  if (reader) options.setLog?.((line) => reader.note(line));
  const lines = reader ? readEditedLines(reader, prompt) : readLines(stop.signal, "");
  try {
    for await (const line of lines) {
      const [command, ...args] = splitWords(line);
      if (!command) continue;
      if (command === "quit" || command === "logout" || command === "exit") break;
      try {
        if (command === "help") {
          const topic = args[0];
          if (topic === undefined) print(HELP);
          else if (topic in COMMAND_HELP) print(COMMAND_HELP[topic]!);
          else print(`unknown command '${topic}'; type 'help'`);
          continue;
        }
        if (command === "status") {
          const [t0, b0] = samples[0]!;
          const seconds = (performance.now() - t0) / 1000;
          const rate = seconds > 0 ? (node.bytesSent - b0) / seconds : 0;
          print([
            `user:       ${options.user}`,
            `tracker:    ${where} (${
              node.connected
                ? paint("green", "connected", colour)
                : paint("yellow", "reconnecting", colour)
            }${options.tls ? ", TLS" : ""})`,
            `serving:    ${formatAddress(node.addr.hostname, node.addr.port)}`,
            `share:      ${node.root} (${node.files.size} files, ${
              formatBytes([...node.files.values()].reduce((sum, f) => sum + f.size, 0))
            })`,
            `uploaded:   ${formatBytes(node.bytesSent)}${
              rate > 0 ? `, now ${formatBytes(rate)}/s` : ", idle now"
            }`,
            `downloaded: ${downloaded.files} file${downloaded.files === 1 ? "" : "s"}, ${
              formatBytes(downloaded.bytes)
            } this session${downloaded.failed ? ` (${downloaded.failed} failed)` : ""}`,
          ].join("\n"));
          continue;
        }
        if (!(command in COMMAND_HELP)) {
          print(`unknown command '${command}'; type 'help'`);
          continue;
        }
        const { client, token } = await tracker();
        const ctx: CommandContext = {
          client,
          token,
          user: options.user,
          json: false,
          colour,
          print,
          ...(options.tls ? { tls: options.tls } : {}),
        };
        switch (command) {
          case "list":
            await listCommand(ctx, args.length ? { search: args.join(" ") } : {});
            break;
          case "details":
            if (args.length !== 1) throw new Error("usage: details FILE");
            await detailsCommand(ctx, args[0]!);
            break;
          case "ping":
            if (args.length !== 1) throw new Error("usage: ping USER");
            await pingCommand(ctx, args[0]!);
            break;
          case "get": {
            const force = args.includes("--force");
            const names = args.filter((a) => a !== "--force");
            if (names.length === 0) throw new Error("usage: get FILE... [--force]");
            try {
              const outcome = await getCommand(ctx, names, {
                outDir: options.outDir,
                force,
                log: print,
              });
              downloaded.files += outcome.files.length;
              downloaded.bytes += outcome.files.reduce((sum, f) => sum + f.fetchedBytes, 0);
              downloaded.failed += outcome.failed.length;
            } catch (error) {
              downloaded.failed++;
              throw error;
            }
            node.requestRescan();
            break;
          }
        }
      } catch (error) {
        print(`${paint("red", "error:", colour)} ${describeError(error)}`);
        if (error instanceof Error && /connection closed|Broken pipe|reset/i.test(error.message)) {
          client?.close();
          client = undefined;
        }
      }
    }
  } finally {
    clearInterval(sampler);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    client?.close();
  }
}

async function* readEditedLines(
  reader: TerminalLineReader,
  prompt: string,
): AsyncGenerator<string> {
  while (true) {
    const line = await reader.read(prompt);
    if (line === null) return;
    yield line;
  }
}

async function* readLines(signal: AbortSignal, prompt: string): AsyncGenerator<string> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(4096);
  let pending = "";
  const aborted = new Promise<null>((resolve) =>
    signal.addEventListener("abort", () => resolve(null), { once: true })
  );
  while (!signal.aborted) {
    if (prompt) await Deno.stdout.write(encoder.encode(prompt));
    let newline = pending.indexOf("\n");
    while (newline === -1) {
      const n = await Promise.race([Deno.stdin.read(buffer), aborted]);
      if (n === null) {
        if (pending.trim()) yield pending;
        return;
      }
      pending += decoder.decode(buffer.subarray(0, n), { stream: true });
      newline = pending.indexOf("\n");
    }
    const line = pending.slice(0, newline).replace(/\r$/, "");
    pending = pending.slice(newline + 1);
    yield line;
  }
}
