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
import {
  checkPositionals,
  type Command,
  findCommand,
  flagsFor,
  parseFlags,
  renderHelp,
} from "./command_spec.ts";
import { describeError } from "./describe_error.ts";
import type { PeerCommand, PeerHost } from "./peer_host.ts";
import type { CommandContext } from "./command_context.ts";
import { CliError } from "./cli_error.ts";
import { formatBytes, formatRate } from "./format.ts";
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
  /** The command table (the command line's, so both accept the same commands). */
  commands: readonly PeerCommand[];
  /** Lets the shell take over where the serving peer's notes are printed. */
  setLog?: (print: (line: string) => void) => void;
}

/** How long names fetched for completion are reused. */
const COMPLETION_CACHE_MS = 5_000;

/**
 * Candidates for the word being completed: command names first, then what the command's
 * positionals are (its `completes`: file names for `get` and `details`, user names for `ping`,
 * command names for `help`) while it takes more of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completionSource } from "./shell.ts";
 * const table = [
 *   { name: "get", completes: "files", positionals: { max: Infinity } },
 *   { name: "ping", completes: "users", positionals: { max: 1 } },
 * ] as const;
 * assert.equal(completionSource({ words: [], prefix: "de" }, table), "commands");
 * assert.equal(completionSource({ words: ["get", "a.txt"], prefix: "" }, table), "files");
 * assert.equal(completionSource({ words: ["ping"], prefix: "b" }, table), "users");
 * assert.equal(completionSource({ words: ["ping", "bob"], prefix: "" }, table), "none");
 * ```
 */
export function completionSource(
  target: CompletionTarget,
  table: readonly {
    name: string;
    aliases?: readonly string[];
    completes?: Command<never>["completes"];
    positionals: { max: number };
  }[],
): "commands" | "files" | "users" | "none" {
  const [name, ...args] = target.words;
  if (name === undefined) return "commands";
  const command = table.find((c) => c.name === name || c.aliases?.includes(name));
  if (!command?.completes || args.length >= command.positionals.max) return "none";
  return command.completes;
}

/**
 * Shell command names (and aliases) from a command table, for completion.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shellCommandNames } from "./shell.ts";
 * assert.deepEqual(
 *   shellCommandNames([{ name: "quit", aliases: ["exit"], modes: ["shell"] }, { name: "serve", modes: ["cli"] }]),
 *   ["quit", "exit"],
 * );
 * ```
 */
export function shellCommandNames(
  table: readonly { name: string; aliases?: readonly string[]; modes: readonly string[] }[],
): string[] {
  return table.filter((c) => c.modes.includes("shell")).flatMap((c) => [
    c.name,
    ...(c.aliases ?? []),
  ]);
}

/**
 * Runs the interactive loop until the user leaves. Ctrl-C while a command runs cancels that
 * command (a `get` keeps its verified chunks) and gives the prompt back.
 */
export async function runShell(node: PeerNode, options: ShellOptions): Promise<void> {
  const interactive = Deno.stdin.isTerminal();
  const colour = colourFor(Deno.stdout);
  const where = formatTrackers(options.tracker);
  const stop = new AbortController();
  // The command running now, if any: Ctrl-C cancels it instead of ending the session.
  let running: AbortController | undefined;
  const onInterrupt = () => running ? running.abort() : stop.abort();
  const onTerminate = () => {
    running?.abort();
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onTerminate);
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
  const commandNames = shellCommandNames(options.commands);

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
    switch (completionSource(target, options.commands)) {
      case "commands":
        return commandNames;
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
  const statusText = () => {
    const [t0, b0] = samples[0]!;
    const seconds = (performance.now() - t0) / 1000;
    const rate = seconds > 0 ? (node.bytesSent - b0) / seconds : 0;
    return [
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
        rate > 0 ? `, now ${formatRate(rate)}` : ", idle now"
      }`,
      `downloaded: ${downloaded.files} file${downloaded.files === 1 ? "" : "s"}, ${
        formatBytes(downloaded.bytes)
      } this session${downloaded.failed ? ` (${downloaded.failed} failed)` : ""}`,
    ].join("\n");
  };

  const prompt = interactive
    ? `${paint("cyan", options.user, colour)}@${paint("dim", where, colour)}> `
    : "";
  const reader = interactive
    ? new TerminalLineReader({ complete, signal: stop.signal })
    : undefined;
  // The serving peer's notes go above the line being edited instead of through it.
  if (reader) options.setLog?.((line) => reader.note(line));
  const lines = reader ? readEditedLines(reader, prompt) : readLines(stop.signal, "");
  let leaving = false;
  try {
    for await (const line of lines) {
      const [name, ...args] = splitWords(line);
      if (!name) continue;
      const controller = new AbortController();
      running = controller;
      const host: PeerHost = {
        mode: "shell",
        program: "",
        commands: options.commands,
        print,
        log: print,
        colour,
        signal: controller.signal,
        login: async (): Promise<CommandContext> => {
          const { client, token } = await tracker();
          return {
            client,
            token,
            user: options.user,
            json: false,
            colour,
            print,
            ...(options.tls ? { tls: options.tls } : {}),
          };
        },
        shell: {
          seat: node,
          outDir: options.outDir,
          status: statusText,
          leave: () => leaving = true,
          gotten: (outcome) => {
            if (outcome) {
              downloaded.files += outcome.files.length;
              downloaded.bytes += outcome.files.reduce((sum, f) => sum + f.fetchedBytes, 0);
              downloaded.failed += outcome.failed.length;
            } else downloaded.failed++;
            node.requestRescan();
          },
        },
      };
      let command: PeerCommand | undefined;
      try {
        command = findCommand(options.commands, name, "shell");
        const { values, positionals } = parseFlags(
          args,
          flagsFor(command, "shell", {}),
          options.outDir,
        );
        if (values.help) {
          print(renderHelp(command, "shell", ""));
          continue;
        }
        checkPositionals(command, positionals, "");
        const json = !!values.json;
        await command.run({
          values,
          positionals,
          host: json
            ? {
              ...host,
              login: async () => ({ ...(await host.login()), json: true }),
            }
            : host,
        });
      } catch (error) {
        if (controller.signal.aborted && !stop.signal.aborted) {
          print(`cancelled ${name}: ${command?.cancellable?.cancelled ?? "stopped"}`);
        } else {
          const message = error instanceof CliError ? error.message : describeError(error);
          print(`${paint("red", "error:", colour)} ${message}`);
        }
        if (error instanceof Error && /connection closed|Broken pipe|reset/i.test(error.message)) {
          client?.close();
          client = undefined;
        }
      } finally {
        running = undefined;
      }
      if (leaving || stop.signal.aborted) break;
    }
  } finally {
    clearInterval(sampler);
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onTerminate);
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
