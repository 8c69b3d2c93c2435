/**
 * `deno task peer <command>`: parses the command line, logs in, runs the command, prints one
 * clear line on stderr and exits non-zero on failure.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  formatAddress,
  formatTrackers,
  parseRate,
  parseTrackerList,
  PeerError,
  PeerNode,
  RateLimiter,
  type TrackerAddress,
  TrackerClient,
} from "../peer/mod.ts";
import {
  type ClientTls,
  isHost,
  ProtocolError,
  readPem,
  RemoteError,
  type ServerTls,
  USERNAME_PATTERN,
} from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { colourFor, paint } from "./colour.ts";
import {
  type CommandContext,
  detailsCommand,
  getCommand,
  listCommand,
  pingCommand,
  sessionsCommand,
} from "./peer_commands.ts";
import { readPassword } from "./password_prompt.ts";
import {
  canSandbox,
  currentScope,
  describeScope,
  runSandboxed,
  SANDBOXED_ENV,
  sandboxScope,
} from "./sandbox.ts";
import { runShell } from "./shell.ts";
import { formatStatus, gatherStatus } from "./status.ts";
import { visible, visibleJson } from "./visible.ts";

const COMMON = `Common options:
  --tracker HOST:PORT  tracker address (env P2PFS_TRACKER, default 127.0.0.1:7070); several
                       trackers of one cluster as HOST:PORT,HOST:PORT (the first that answers)
  --user NAME          account name (env P2PFS_USER); the password comes from env
                       P2PFS_PASSWORD or is asked for on a terminal
  --json               print one JSON document on stdout (list, details, ping, get, status)
  --tls-ca FILE        talk TLS to the tracker and to TLS peers, trusting this CA (env P2PFS_TLS_CA)
  --tls                talk TLS to the tracker, trusting the system's CAs only (env P2PFS_TLS=1)
  --no-sandbox         run serve/shell/get without narrowing Deno's permissions to their folders
  -h, --help           show help`;

const USAGES: Record<string, string> = {
  register:
    `Usage: deno task peer register --user NAME\n\nCreates the account NAME.\n\nExample:\n  P2PFS_PASSWORD=secret123 deno task peer register --user ann`,
  serve:
    `Usage: deno task peer serve --share DIR [--host HOST] [--port PORT] [--announce-host HOST] [--max-upload RATE]\n\nLogs in, shares DIR with other peers until Ctrl-C, then logs out.\n--max-upload limits the upload rate over all connections, e.g. 20MB/s.\n--announce-host names the host other peers should connect to (behind NAT or a proxy); the\ntracker records it only when it runs with --trust-announced-hosts, and otherwise records the\naddress this peer's connection comes from. The ready line shows the address it recorded.\nOther peers read only under a ticket from the tracker; a connection that shows none within\n--ticket-window-ms (default 10000) is closed, and at most --max-unticketed (default 64) such\nconnections are served at once.\n\nExample:\n  deno task peer serve --user ann --share ./shared --port 0 --max-upload 20MB/s`,
  list:
    `Usage: deno task peer list [--search TEXT] [--all]\n\nLists files with an online source (--all: every known file).\n\nExample:\n  deno task peer list --search report --json`,
  details:
    `Usage: deno task peer details FILE [--version PREFIX]\n\nShows size, hashes and every peer that has FILE. When FILE has several versions (different\ncontents under one name), shows the one 'get' would take (most online holders, then most\ndownloads) and lists them all; --version picks one by a prefix of its id or SHA-256.\n\nExample:\n  deno task peer details docs/report.pdf --version 3f2a9c`,
  ping:
    `Usage: deno task peer ping USER\n\nChecks whether USER's peer answers, and how fast.\n\nExample:\n  deno task peer ping bob`,
  get:
    `Usage: deno task peer get FILE... [--prefix DIR/] [--out DIR] [--force] [--sources N] [--version PREFIX] [--max-rate RATE] [--explain] [--quiet]\n\nDownloads files from up to N online peers at once (default 4), verifying every chunk.\nAn interrupted download resumes from its NAME.part when run again.\n\nOptions:\n  --out DIR         where to save (default ./downloads)\n  --prefix DIR/     also fetch every available file under DIR/\n  --force           replace files that exist\n  --sources N       most peers per file (default 4)\n  --version PREFIX  the version whose id or SHA-256 starts with PREFIX (see details)\n  --max-rate RATE   limit the download rate, e.g. 20MB/s or 512KiB/s\n  --explain         show how sources were ranked, chosen and dropped\n  -q, --quiet       no progress line\n\nExamples:\n  deno task peer get docs/report.pdf --out ./downloads\n  deno task peer get --prefix photos/ --sources 6 --max-rate 50MB/s`,
  sessions:
    `Usage: deno task peer sessions\n\nLists your live sessions: where you are logged in, since when, until when.\n\nExample:\n  deno task peer sessions --json`,
  logout:
    `Usage: deno task peer logout (--all | --session ID)\n\nRevokes sessions: every one of yours (--all), or the one whose id starts with ID\n(see 'sessions'). A serving peer whose session is revoked logs in again with its password.\n\nExample:\n  deno task peer logout --all`,
  status:
    `Usage: deno task peer status [--out DIR]\n\nWho you are, whether the tracker answers (and over TLS), your sessions, and what the\ntracker knows of your peer: its address, online or not, the files it shares, its downloads\nand failures; and what a 'get' into DIR (default ./downloads) would be allowed to touch.\n\nExample:\n  deno task peer status --json`,
  shell:
    `Usage: deno task peer shell --share DIR [--host HOST] [--port PORT] [--max-upload RATE]\n\nAn interactive session: serves DIR while you list, ping and get files.\n\nExample:\n  deno task peer shell --user ann --share ./shared`,
};

const TOP_USAGE = `Usage: deno task peer <command> [options]

Commands:
  register             create an account
  serve --share DIR    share a folder with other peers until stopped
  shell --share DIR    interactive session (serving while it runs)
  list [--search TEXT] list available files
  details FILE         size, hashes and holders of a file
  ping USER            check a peer directly over TCP
  get FILE...          download files from several peers at once, verified
  status               who you are, the tracker, what you share
  sessions             list your live sessions
  logout --all         revoke every session of yours (or --session ID)

${COMMON}

Run 'deno task peer <command> --help' for a command's options.`;

/** Runs the peer command line; resolves to the exit code. */
export async function runPeerCli(args: string[]): Promise<number> {
  const command = args[0];
  try {
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      console.log(TOP_USAGE);
      return command === undefined ? 2 : 0;
    }
    if (!(command in USAGES)) {
      throw new CliError(`Cannot run '${command}': unknown command\n\n${TOP_USAGE}`, 2);
    }
    return await runCommand(command, args.slice(1));
  } catch (error) {
    console.error(`${paint("red", "error:", colourFor(Deno.stderr))} ${describeError(error)}`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

/** `--version PREFIX`, checked: 4-64 hex digits of a version id or SHA-256. */
function versionOption(value: string | undefined): { version?: string } {
  if (value === undefined) return {};
  const prefix = value.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(prefix)) {
    throw new CliError(
      `Cannot use --version ${value}: give 4-64 hex digits of a version id or SHA-256 (see 'details FILE')`,
      2,
    );
  }
  return { version: prefix };
}

async function runCommand(command: string, rest: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        tracker: { type: "string" },
        user: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        search: { type: "string" },
        all: { type: "boolean", default: false },
        share: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "announce-host": { type: "string" },
        out: { type: "string" },
        force: { type: "boolean", default: false },
        explain: { type: "boolean", default: false },
        quiet: { type: "boolean", short: "q", default: false },
        prefix: { type: "string" },
        sources: { type: "string" },
        "max-rate": { type: "string" },
        "max-upload": { type: "string" },
        session: { type: "string" },
        version: { type: "string" },
        tls: { type: "boolean", default: false },
        "no-sandbox": { type: "boolean", default: false },
        "tls-ca": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "ticket-window-ms": { type: "string" },
        "max-unticketed": { type: "string" },
      },
    });
  } catch (error) {
    throw new CliError(
      `${error instanceof Error ? error.message : error}\n\n${USAGES[command]}`,
      2,
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(`${USAGES[command]}\n\n${COMMON}`);
    return 0;
  }
  const tracker = parseTracker(values.tracker ?? Deno.env.get("P2PFS_TRACKER") ?? "127.0.0.1:7070");
  const user = values.user ?? Deno.env.get("P2PFS_USER");
  if (!user) throw new CliError(`Cannot run ${command}: give --user NAME or set P2PFS_USER`, 2);
  if (!USERNAME_PATTERN.test(user)) {
    throw new CliError(
      `Cannot use user name "${user}": use 1-32 of A-Z a-z 0-9 _ . -, not . or ..`,
      2,
    );
  }
  const needs = (count: number, what: string) => {
    if (positionals.length !== count) {
      throw new CliError(`Cannot run ${command}: expected ${what}\n\n${USAGES[command]}`, 2);
    }
  };

  const caFile = values["tls-ca"] ?? Deno.env.get("P2PFS_TLS_CA");
  const tlsFiles = [caFile, values["tls-cert"], values["tls-key"]].filter((f) => f !== undefined);

  // serve, shell and get run in a child process whose Deno permissions cover only their folders.
  if (
    ["serve", "shell", "get"].includes(command) && Deno.env.get(SANDBOXED_ENV) !== "1" &&
    !values["no-sandbox"] && canSandbox()
  ) {
    let share: string | undefined;
    if (values.share !== undefined) {
      try {
        share = await Deno.realPath(values.share);
      } catch {
        throw new CliError(`Cannot share ${values.share}: it is not a folder`, 2);
      }
    }
    const scope = sandboxScope(command, {
      ...(share ? { share } : {}),
      out: values.out ?? (command === "get" ? "./downloads" : share ?? "."),
      tlsFiles,
    });
    if (scope) return await runSandboxed([command, ...rest], scope);
  }
  const clientTls: ClientTls | undefined = caFile
    ? { caCerts: [await readPemOption(caFile)] }
    : values.tls || Deno.env.get("P2PFS_TLS") === "1"
    ? {}
    : undefined;
  const connectOptions = (agent: string) => ({ agent, ...(clientTls ? { tls: clientTls } : {}) });

  if (command === "serve" || command === "shell") {
    needs(0, "no arguments besides options");
    if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
      throw new CliError(`Cannot run ${command}: give both --tls-cert and --tls-key`, 2);
    }
    const serverTls: ServerTls | undefined = values["tls-cert"]
      ? {
        cert: await readPemOption(values["tls-cert"]),
        key: await readPemOption(values["tls-key"]!),
      }
      : undefined;
    if (!values.share) {
      throw new CliError(`Cannot run ${command}: give --share DIR\n\n${USAGES[command]}`, 2);
    }
    const port = parsePort(values.port ?? "0");
    const announceHost = values["announce-host"];
    if (announceHost !== undefined && !isHost(announceHost)) {
      throw new CliError(
        `Cannot use --announce-host "${
          visible(announceHost)
        }": expected an IPv4 address, an IPv6 address or a DNS name`,
        2,
      );
    }
    const password = await readPassword(`Password for ${user}: `);
    let log = (line: string) => console.error(line);
    const node = await PeerNode.start({
      tracker,
      user,
      password,
      shareDir: values.share,
      hostname: values.host ?? "127.0.0.1",
      port,
      ...(announceHost ? { announceHost } : {}),
      ...(values["max-upload"]
        ? { uploadLimiter: new RateLimiter(parseRateOption(values["max-upload"])) }
        : {}),
      ...(serverTls ? { serverTls } : {}),
      ...(clientTls ? { trackerTls: clientTls } : {}),
      ...(values["ticket-window-ms"] !== undefined
        ? { ticketWindowMs: parsePositive(values["ticket-window-ms"], "--ticket-window-ms") }
        : {}),
      ...(values["max-unticketed"] !== undefined
        ? { maxUnticketed: parsePositive(values["max-unticketed"], "--max-unticketed") }
        : {}),
      onLog: (line) => log(`peer: ${visible(line)}`),
    });
    try {
      if (command === "serve") {
        // Listen for signals before saying we are ready: a SIGTERM sent as soon as the line is
        // seen would otherwise kill the process without logging out.
        const stopped = waitForSignal();
        const scope = currentScope();
        console.error(
          scope ? `peer: ${describeScope(scope)}` : "peer: not sandboxed (--no-sandbox)",
        );
        console.log(
          `peer ${user} serving ${node.files.size} files on ${
            formatAddress(node.addr.hostname, node.addr.port)
          }`,
        );
        await stopped;
      } else {
        await runShell(node, {
          tracker,
          user,
          password,
          outDir: values.out ?? node.root,
          ...(clientTls ? { tls: clientTls } : {}),
          setLog: (print) => log = print,
        });
      }
    } finally {
      await node.close();
    }
    return 0;
  }

  const password = await readPassword(`Password for ${user}: `);
  if (command === "status") {
    needs(0, "no arguments besides options");
    let login: { client: TrackerClient; token: string } | undefined;
    try {
      const report = await gatherStatus({
        user,
        address: formatTrackers(tracker),
        tls: clientTls !== undefined,
        getSandbox: values["no-sandbox"]
          ? null
          : sandboxScope("get", { out: values.out ?? "./downloads", tlsFiles }),
        connect: async () => {
          const client = await TrackerClient.connect(tracker, connectOptions("p2pfs-status"));
          try {
            login = { client, token: (await client.login(user, password)).token };
          } catch (error) {
            client.close();
            throw error;
          }
          return login;
        },
      });
      if (values.json) console.log(visibleJson(JSON.stringify(report)));
      else console.log(formatStatus(report, colourFor(Deno.stdout)));
      return report.tracker.reachable ? 0 : 1;
    } finally {
      if (login) {
        await login.client.logout(login.token).catch(() => {});
        login.client.close();
      }
    }
  }
  await using client = await TrackerClient.connect(tracker, connectOptions(`p2pfs-${command}`));
  if (command === "register") {
    needs(0, "no arguments besides options");
    await client.register(user, password);
    if (values.json) console.log(JSON.stringify({ user, registered: true }));
    else console.log(`registered ${user}`);
    return 0;
  }
  const session = await client.login(user, password);
  const ctx: CommandContext = {
    client,
    token: session.token,
    user,
    json: values.json,
    colour: colourFor(Deno.stdout),
    // JSON text keeps its exact value; DEL and C1 in its strings are written as \u escapes.
    print: (text) => console.log(values.json ? visibleJson(text) : text),
    openClient: () => TrackerClient.connect(tracker, connectOptions(`p2pfs-${command}`)),
    ...(clientTls ? { tls: clientTls } : {}),
  };
  try {
    switch (command) {
      case "list":
        needs(0, "no arguments (use --search TEXT)");
        await listCommand(ctx, {
          ...(values.search !== undefined ? { search: values.search } : {}),
          all: values.all,
        });
        break;
      case "details":
        needs(1, "one FILE");
        await detailsCommand(ctx, positionals[0]!, {
          ...versionOption(values.version),
          log: (line) => console.error(line),
        });
        break;
      case "ping":
        needs(1, "one USER");
        await pingCommand(ctx, positionals[0]!);
        break;
      case "sessions": {
        needs(0, "no arguments");
        await sessionsCommand(ctx);
        break;
      }
      case "logout": {
        needs(0, "no arguments besides options");
        if (!values.all && values.session === undefined) {
          throw new CliError(
            `Cannot run logout: give --all or --session ID\n\n${USAGES.logout}`,
            2,
          );
        }
        const revoked = await client.logout(
          session.token,
          values.all ? { all: true } : { session: values.session! },
        );
        if (values.json) console.log(JSON.stringify({ revoked }));
        else console.log(`revoked ${revoked} session${revoked === 1 ? "" : "s"}`);
        break;
      }
      case "get": {
        if (positionals.length === 0 && values.prefix === undefined) {
          throw new CliError(
            `Cannot run get: name at least one FILE or --prefix DIR/\n\n${USAGES.get}`,
            2,
          );
        }
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        Deno.addSignalListener("SIGINT", onSignal);
        Deno.addSignalListener("SIGTERM", onSignal);
        try {
          const outcome = await getCommand(ctx, positionals, {
            outDir: values.out ?? "./downloads",
            force: values.force,
            explain: values.explain,
            quiet: values.quiet,
            sources: parseCount(values.sources ?? "4", "--sources"),
            ...versionOption(values.version),
            ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
            ...(values["max-rate"]
              ? { limiter: new RateLimiter(parseRateOption(values["max-rate"])) }
              : {}),
            log: (line) => console.error(line),
            signal: stop.signal,
          });
          if (outcome.failed.length > 0) return 1;
        } catch (error) {
          if (stop.signal.aborted) {
            throw new CliError(
              "Cannot finish get: interrupted; verified chunks are kept, run the same command to resume",
              130,
            );
          }
          throw error;
        } finally {
          Deno.removeSignalListener("SIGINT", onSignal);
          Deno.removeSignalListener("SIGTERM", onSignal);
        }
        break;
      }
    }
  } finally {
    await client.logout(session.token).catch(() => {});
  }
  return 0;
}

function parseTracker(text: string): TrackerAddress[] {
  try {
    return parseTrackerList(text);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
}

function parseCount(text: string, flag: string): number {
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new CliError(`Cannot use ${flag} "${text}": expected a whole number from 1 to 64`, 2);
  }
  return count;
}

function parseRateOption(text: string): number {
  try {
    return parseRate(text);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
}

async function readPemOption(path: string): Promise<string> {
  try {
    return await readPem(path);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`Cannot use port "${text}": expected 0-65535`, 2);
  }
  return port;
}

/** A flag's positive whole number, or a usage error naming the flag. */
function parsePositive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new CliError(`Cannot use ${flag} "${text}": expected a positive whole number`, 2);
  }
  return value;
}

function waitForSignal(): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const stop = () => {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    resolve();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return promise;
}

/**
 * One line for an error, with what to do next where we know it. Messages that may carry text from
 * the tracker or another peer have their control characters written out ({@link visible}).
 */
export function describeError(error: unknown): string {
  if (error instanceof CliError) return error.message;
  return visible(describeOtherError(error));
}

function describeOtherError(error: unknown): string {
  if (error instanceof PeerError) {
    switch (error.code) {
      case "TRACKER_UNREACHABLE":
        if (/TLS/.test(error.message)) return error.message;
        return `${error.message} (is the tracker running? start one with 'deno task tracker', or pass --tracker HOST:PORT)`;
      case "NO_SOURCE":
        return `${error.message} (try again when a peer that has it is online)`;
      case "PATH_ESCAPE":
        return `${error.message} (remove the link, or choose another --out)`;
      case "BUSY":
        return `${error.message} (wait for it to finish, or choose another --out)`;
      case "BAD_PATH":
        return `${error.message} (choose another --out)`;
      default:
        return error.message;
    }
  }
  if (error instanceof RemoteError) {
    switch (error.code) {
      case "AUTH_FAILED":
        return `${error.message} (check --user and P2PFS_PASSWORD, or create the account with 'register')`;
      case "USER_EXISTS":
        return `${error.message} (pick another name, or log in with it)`;
      case "BUSY":
        return `${error.message} (the tracker is overloaded; try again in a few seconds)`;
      case "NOT_FOUND":
        return `${error.message} (see what is available with 'list')`;
      default:
        return error.message;
    }
  }
  if (error instanceof ProtocolError) return `${error.message} (is that address a p2pfs tracker?)`;
  if (error instanceof Deno.errors.NotFound) return error.message;
  return error instanceof Error ? error.message : String(error);
}
