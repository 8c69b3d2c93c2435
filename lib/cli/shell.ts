/**
 * `peer shell`: an interactive session. The peer serves its folder while the user types commands;
 * the session ends with `quit`, `logout`, end of input or Ctrl-C.
 *
 * @module
 */
import { formatAddress, type PeerNode, type TrackerAddress, TrackerClient } from "../peer/mod.ts";
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

/** Settings of {@link runShell}. */
export interface ShellOptions {
  /** The tracker. */
  tracker: TrackerAddress;
  /** Who is logged in. */
  user: string;
  /** The password (for reconnecting). */
  password: string;
  /** Where `get` saves files (default: the shared folder, so they are shared on). */
  outDir: string;
  /** TLS for the tracker and TLS peers. */
  tls?: ClientTls;
}

const HELP = `Commands:
  help                 this list
  list [TEXT]          files available (matching TEXT)
  details FILE         size, hashes and holders of FILE
  ping USER            check USER's peer directly
  get FILE... [--force] download into the shared folder (then shared on)
  status               who you are, the tracker, what you share
  logout, quit         log out and leave
File names with spaces go in double quotes.`;

/**
 * Splits a command line into words; double quotes group words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitWords } from "./shell.ts";
 * assert.ok(splitWords('get "my file.txt"')[1] === "my file.txt");
 * ```
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|(\S+)/g)) words.push(match[1] ?? match[2] ?? "");
  return words;
}

/** Runs the interactive loop until the user leaves. */
export async function runShell(node: PeerNode, options: ShellOptions): Promise<void> {
  const interactive = Deno.stdin.isTerminal();
  const where = formatAddress(options.tracker.hostname, options.tracker.port);
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
  try {
    for await (
      const line of readLines(stop.signal, interactive ? `${options.user}@${where}> ` : "")
    ) {
      const [command, ...args] = splitWords(line);
      if (!command) continue;
      if (command === "quit" || command === "logout" || command === "exit") break;
      try {
        if (command === "help") {
          print(HELP);
          continue;
        }
        if (command === "status") {
          print([
            `user:      ${options.user}`,
            `tracker:   ${where} (${node.connected ? "connected" : "reconnecting"})`,
            `serving:   ${formatAddress(node.addr.hostname, node.addr.port)}`,
            `share:     ${node.root} (${node.files.size} files, ${
              formatBytes([...node.files.values()].reduce((sum, f) => sum + f.size, 0))
            })`,
            `uploaded:  ${formatBytes(node.bytesSent)}`,
          ].join("\n"));
          continue;
        }
        const token = node.session?.token;
        if (!token) {
          throw new Error("Cannot reach the tracker right now: reconnecting, try again shortly");
        }
        client ??= await TrackerClient.connect(options.tracker, {
          agent: "p2pfs-shell",
          ...(options.tls ? { tls: options.tls } : {}),
        });
        const ctx: CommandContext = {
          client,
          token,
          user: options.user,
          json: false,
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
            await getCommand(ctx, names, { outDir: options.outDir, force, log: print });
            node.requestRescan();
            break;
          }
          default:
            print(`unknown command '${command}'; type 'help'`);
        }
      } catch (error) {
        print(`error: ${describeError(error)}`);
        if (error instanceof Error && /connection closed|Broken pipe|reset/i.test(error.message)) {
          client?.close();
          client = undefined;
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    client?.close();
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
