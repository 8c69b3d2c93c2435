/**
 * The peer's commands, one entry each: the command line (`p2pfs-peer <command>`) and the shell
 * both parse, check, explain and run them from here. To add a flag, add a line to the command's
 * `flags` and read it in its `run`; `--help`, the shell's `help`, suggestions for mistyped flags
 * and path resolution follow from the entry.
 *
 * @module
 */
import {
  formatAddress,
  parseRate,
  PeerError,
  RateLimiter,
  type SwarmHost,
  SwarmSeat,
  type TrackerAddress,
  type TrackerClient,
} from "../peer/mod.ts";
import { parseDuration, servingOptions } from "./serving_options.ts";
import type { ClientTls } from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { userPath } from "./paths.ts";
import {
  type Command,
  type CommandCall,
  type CommandHost,
  type FlagSpec,
  type FlagSpecs,
  renderCommandList,
  renderHelp,
  STALLED_EXIT,
  USAGE_EXIT,
} from "./command_spec.ts";
import { describeError } from "./describe_error.ts";
import {
  detailsCommand,
  getCommand,
  type GetOutcome,
  listCommand,
  pingCommand,
  sessionsCommand,
} from "./peer_commands.ts";
import type { StoredSession } from "./session_store.ts";
import { ADMIN_ACTION_HELP, adminCommand } from "./admin_command.ts";

/** What the command line gives the commands that only run there. */
export interface PeerCliSettings {
  /** The trackers of one cluster, in the order to try them. */
  tracker: TrackerAddress[];
  /** Who runs the command. */
  user: string;
  /** TLS towards the tracker and TLS peers. */
  clientTls?: ClientTls;
  /** `--no-sandbox` was given. */
  noSandbox: boolean;
  /** The password (from `P2PFS_PASSWORD` or typed). */
  password(): Promise<string>;
  /** The session `login` kept for these trackers, used instead of a password. */
  kept?: StoredSession;
  /** Forgets the kept session (it was revoked, or `logout` ended it). */
  forgetKept(): Promise<void>;
  /** A new tracker connection (not logged in). */
  connect(agent: string): Promise<TrackerClient>;
  /** The whole table (for `shell`, which hands it on). */
  commands: readonly PeerCommand[];
}

/** What the shell gives the commands. */
export interface PeerShellSession {
  /** Where `get` saves (the shared folder). */
  outDir: string;
  /** The shell's `status` text. */
  status(): string;
  /** Ends the session after this command. */
  leave(): void;
  /** Counts a `get` and re-indexes the shared folder. */
  gotten(outcome: GetOutcome | undefined): void;
  /** The shell's serving peer, which serves what `get` has verified meanwhile. */
  seat?: SwarmHost;
}

/** The peer's command host: the command line has `cli`, the shell has `shell`. */
export interface PeerHost extends CommandHost {
  /** Set on the command line. */
  cli?: PeerCliSettings;
  /** Set in the shell. */
  shell?: PeerShellSession;
}

/** A peer command. */
export type PeerCommand = Command<PeerHost>;

/** Runs a command on the command line only (serve, shell, status, register): set by peer_cli. */
export type CliRunner = (call: CommandCall<PeerHost>) => Promise<number>;

/** The command line's options for every command. */
export const COMMON_FLAGS: FlagSpecs = {
  tracker: {
    type: "string",
    value: "HOST[:PORT]",
    help: "tracker address (env P2PFS_TRACKER, default 127.0.0.1:7070; port 7070 if left out)",
  },
  user: {
    type: "string",
    value: "NAME",
    help:
      "account name (env P2PFS_USER; default: the one 'login' kept); password from env P2PFS_PASSWORD or typed",
  },
  "tls-ca": {
    type: "string",
    value: "FILE",
    path: true,
    help: "talk TLS to the tracker and TLS peers, trusting this CA (env P2PFS_TLS_CA)",
  },
  tls: { type: "boolean", help: "talk TLS, trusting the system's CAs only (env P2PFS_TLS=1)" },
  "no-sandbox": {
    type: "boolean",
    help: "run serve/shell/get without narrowing Deno's permissions to their folders",
  },
};

const JSON_FLAG: FlagSpec = { type: "boolean", help: "print one JSON document on stdout" };
const VERSION_FLAG: FlagSpec = {
  type: "string",
  value: "PREFIX",
  help: "the file version whose id or SHA-256 starts with PREFIX (see details)",
};

/** Flags of a serving peer (`serve`, `shell`). */
const SERVING_FLAGS: FlagSpecs = {
  share: { type: "string", value: "DIR", path: true, help: "the folder to share" },
  host: { type: "string", value: "HOST", help: "address to listen on (default 127.0.0.1)" },
  port: { type: "string", value: "PORT", help: "port to listen on; 0 picks a free one (default)" },
  "announce-host": {
    type: "string",
    value: "HOST",
    help: "host other peers should connect to (tracker needs --trust-announced-hosts)",
  },
  "max-upload": { type: "string", value: "RATE", help: "upload limit, e.g. 20MB/s" },
  "tls-cert": { type: "string", value: "FILE", path: true, help: "serve peers over TLS: cert" },
  "tls-key": { type: "string", value: "FILE", path: true, help: "... and its private key" },
  "ticket-window-ms": {
    type: "string",
    value: "MS",
    help: "close connections that show no read ticket this long (default 10000)",
  },
  "max-unticketed": {
    type: "string",
    value: "N",
    help: "most connections without a ticket given the full window (default 64, 8 per address)",
  },
};

/**
 * Builds the peer's command table. The commands that only run on the command line (`register`,
 * `serve`, `shell`, and `status` there) are given by the caller, which owns the process.
 */
export function peerCommands(cliOnly: {
  register: CliRunner;
  login: CliRunner;
  passwd: CliRunner;
  serve: CliRunner;
  shell: CliRunner;
  status: CliRunner;
}): PeerCommand[] {
  const table: PeerCommand[] = [
    {
      name: "help",
      summary: "the list of commands, or more about one",
      usage: "[COMMAND]",
      positionals: { name: "COMMAND", min: 0, max: 1 },
      flags: {},
      help: "Lists the commands, or explains one with its options and an example.",
      examples: ["help get"],
      needsLogin: false,
      modes: ["cli", "shell"],
      run({ positionals, host }) {
        const topic = positionals[0];
        if (topic === undefined) {
          host.print(commandList(table, host));
          return Promise.resolve(0);
        }
        const command = table.find((c) => c.name === topic || c.aliases?.includes(topic));
        if (!command || !command.modes.includes(host.mode)) {
          throw new CliError(`Cannot explain '${topic}': unknown command`, USAGE_EXIT);
        }
        host.print(
          renderHelp(command, host.mode, host.program, host.mode === "cli" ? COMMON_FLAGS : {}),
        );
        return Promise.resolve(0);
      },
    },
    {
      name: "register",
      summary: "create an account",
      usage: "--user NAME [--invite CODE]",
      positionals: { name: "", min: 0, max: 0 },
      flags: {
        invite: {
          type: "string",
          value: "CODE",
          help: "an invitation code from an admin (trackers that take accounts by invitation)",
        },
        json: JSON_FLAG,
      },
      help: [
        "Creates the account NAME (a password of at least 8 characters). The first account of a",
        "new tracker is its admin.",
      ].join("\n"),
      examples: ["register --user ann"],
      needsLogin: false,
      modes: ["cli"],
      run: cliOnly.register,
    },
    {
      name: "admin",
      summary: "operators: accounts, invitations (admin users, invite, disable NAME, ...)",
      usage: "ACTION [NAME] [--uses N] [--expires DURATION]",
      positionals: { name: "ACTION [NAME]", min: 1, max: 2 },
      flags: {
        uses: { type: "string", value: "N", help: "invite: registrations it allows (default 1)" },
        scope: { type: "string", value: "SCOPE", help: "token: what it opens (metrics)" },
        expires: {
          type: "string",
          value: "DURATION",
          help: "invite: how long it works (e.g. 2d, 12h; default 7d)",
        },
        json: JSON_FLAG,
      },
      help: [
        "An admin's actions on the tracker's accounts (refused to others):",
        ...Object.entries(ADMIN_ACTION_HELP).map(([name, a]) =>
          `  ${(name + (a.account ? " NAME" : "")).padEnd(20)} ${a.help}`
        ),
        "Every action is recorded (who, what, when) in the tracker's audit log.",
      ].join("\n"),
      examples: [
        "admin users",
        "admin invite --uses 30 --expires 7d",
        "admin disable mallory",
        "admin token --scope metrics",
      ],
      needsLogin: true,
      modes: ["cli", "shell"],
      async run({ values, positionals, host }) {
        const uses = stringValue(values.uses);
        const n = uses === undefined ? undefined : Number(uses);
        if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 10_000)) {
          throw new CliError(`Cannot use --uses "${uses}": expected 1-10000`, USAGE_EXIT);
        }
        const scope = stringValue(values.scope);
        if (positionals[0] === "token" && scope !== "metrics") {
          throw new CliError(
            `Cannot run admin token: give --scope metrics (the one scope there is)`,
            USAGE_EXIT,
          );
        }
        const expires = stringValue(values.expires);
        const expiresMs = expires === undefined ? undefined : parseDuration(expires, "--expires");
        await adminCommand(await host.login(), positionals, {
          ...(n !== undefined ? { uses: n } : {}),
          ...(expiresMs !== undefined ? { expiresMs } : {}),
          program: host.program,
        });
        return 0;
      },
    },
    {
      name: "login",
      summary: "sign in once: later commands use the kept session",
      usage: "[--user NAME]",
      positionals: { name: "", min: 0, max: 0 },
      flags: { json: JSON_FLAG },
      help: [
        "Signs in (the password from P2PFS_PASSWORD or typed) and keeps the session in",
        "$XDG_CONFIG_HOME/p2pfs/sessions.json (~/.config/p2pfs/), readable by you alone, one per",
        "tracker cluster. Later commands use it without a password, until 'logout' or until it",
        "expires (30 days). With P2PFS_PASSWORD set, commands sign in with it instead.",
      ].join("\n"),
      examples: ["login --user ann"],
      needsLogin: false,
      modes: ["cli"],
      run: cliOnly.login,
    },
    {
      name: "passwd",
      summary: "change your password",
      usage: "[--keep-sessions]",
      positionals: { name: "", min: 0, max: 0 },
      flags: {
        "keep-sessions": { type: "boolean", help: "keep your other sessions (default: end them)" },
        json: JSON_FLAG,
      },
      help: [
        "Changes your password: the current one (P2PFS_PASSWORD or typed), then the new one",
        "(P2PFS_NEW_PASSWORD, or typed twice). Your other sessions end, serving peers included,",
        "unless --keep-sessions; the session this command uses is kept.",
      ].join("\n"),
      examples: ["passwd", "passwd --keep-sessions"],
      needsLogin: true,
      modes: ["cli"],
      run: cliOnly.passwd,
    },
    {
      name: "serve",
      summary: "share a folder with other peers until stopped",
      usage: "--share DIR [--host HOST] [--port PORT] [--announce-host HOST] [--max-upload RATE]",
      positionals: { name: "", min: 0, max: 0 },
      flags: SERVING_FLAGS,
      help: [
        "Logs in, shares DIR with other peers until Ctrl-C, then logs out. The tracker records the",
        "address this peer's connection comes from (or --announce-host, when it runs with",
        "--trust-announced-hosts); the ready line shows the address it recorded. Other peers read",
        "only under a ticket from the tracker.",
      ].join("\n"),
      examples: ["serve --user ann --share ./shared --max-upload 20MB/s"],
      needsLogin: true,
      modes: ["cli"],
      run: cliOnly.serve,
    },
    {
      name: "shell",
      summary: "interactive session, serving a folder while it runs",
      usage: "--share DIR [--host HOST] [--port PORT] [--max-upload RATE]",
      positionals: { name: "", min: 0, max: 0 },
      flags: {
        ...SERVING_FLAGS,
        share: { ...SERVING_FLAGS.share!, help: "the folder to share (created if missing)" },
        out: {
          type: "string",
          value: "DIR",
          path: true,
          help: "where get saves (default: the shared folder, so it is shared on)",
        },
      },
      help: [
        "An interactive session: serves DIR while you list, ping and get files. DIR is created",
        "when it does not exist. Ctrl-C cancels the running command; quit (or Ctrl-D) leaves.",
      ].join("\n"),
      examples: ["shell --user ann --share ./shared"],
      needsLogin: true,
      modes: ["cli"],
      run: cliOnly.shell,
    },
    {
      name: "list",
      summary: "files available (matching TEXT)",
      usage: "[TEXT] [--search TEXT] [--all]",
      positionals: { name: "TEXT", min: 0, max: 1 },
      flags: {
        search: { type: "string", value: "TEXT", help: "names containing TEXT (any case)" },
        all: { type: "boolean", help: "also files no online peer has" },
        json: JSON_FLAG,
      },
      help: "Lists files with an online source (--all: every known file), one row per version.",
      examples: ["list report", "list --search report --json"],
      needsLogin: true,
      modes: ["cli", "shell"],
      async run({ values, positionals, host }) {
        const ctx = await host.login();
        const search = stringValue(values.search) ?? positionals[0];
        await listCommand(ctx, { ...(search !== undefined ? { search } : {}), all: !!values.all });
        return 0;
      },
    },
    {
      name: "details",
      summary: "size, hashes and holders of a file",
      usage: "FILE [--version PREFIX]",
      positionals: { name: "FILE", min: 1, max: 1 },
      flags: { version: VERSION_FLAG, json: JSON_FLAG },
      help: [
        "Shows size, hashes and every peer that has FILE. When FILE has several versions, shows",
        "the one 'get' would take (most online holders, then most downloads) and lists them all.",
      ].join("\n"),
      examples: ["details docs/report.pdf", "details docs/report.pdf --version 3f2a9c"],
      needsLogin: true,
      modes: ["cli", "shell"],
      async run({ values, positionals, host }) {
        const version = versionOption(values.version);
        const ctx = await host.login();
        await detailsCommand(ctx, positionals[0]!, {
          ...version,
          log: (line) => host.log(line),
        });
        return 0;
      },
    },
    {
      name: "ping",
      summary: "check a peer directly over TCP",
      usage: "USER",
      positionals: { name: "USER", min: 1, max: 1 },
      flags: { json: JSON_FLAG },
      help: "Connects to USER's peer directly and times a ping. Exit 1 when it does not answer.",
      examples: ["ping bob"],
      needsLogin: true,
      modes: ["cli", "shell"],
      async run({ positionals, host }) {
        const result = await pingCommand(await host.login(), positionals[0]!);
        return result.online ? 0 : 1;
      },
    },
    {
      name: "get",
      summary: "download files from several peers at once, verified",
      usage:
        "FILE... [--prefix DIR/] [--out DIR] [--force] [--sources N] [--version PREFIX] [--max-rate RATE] [--stall-timeout DURATION] [--explain] [--quiet]",
      positionals: { name: "FILE", min: 0, max: Infinity },
      flags: {
        out: {
          type: "string",
          value: "DIR",
          path: true,
          cliOnly: true,
          help: "where to save (default ./downloads)",
        },
        prefix: { type: "string", value: "DIR/", help: "also fetch every file under DIR/" },
        force: { type: "boolean", help: "replace files that exist" },
        sources: { type: "string", value: "N", help: "most peers per file (default 4)" },
        version: VERSION_FLAG,
        "max-rate": { type: "string", value: "RATE", help: "download limit, e.g. 20MB/s" },
        "stall-timeout": {
          type: "string",
          value: "DURATION",
          help:
            "give up when no online peer has the chunks still needed for this long, keeping them (default 60s; 0: wait)",
        },
        explain: { type: "boolean", help: "show how sources were ranked, chosen and dropped" },
        quiet: { type: "boolean", short: "q", help: "no progress line" },
        json: JSON_FLAG,
        "no-upload": {
          type: "boolean",
          cliOnly: true,
          help: "serve nothing while downloading (by default a get serves what it verified)",
        },
        "seed-for": {
          type: "string",
          value: "DURATION",
          cliOnly: true,
          help: "keep serving the finished files this long, e.g. 10m (default 0)",
        },
        host: { ...SERVING_FLAGS.host!, cliOnly: true },
        port: { ...SERVING_FLAGS.port!, cliOnly: true },
        "announce-host": { ...SERVING_FLAGS["announce-host"]!, cliOnly: true },
        "max-upload": { ...SERVING_FLAGS["max-upload"]!, cliOnly: true },
        "tls-cert": { ...SERVING_FLAGS["tls-cert"]!, cliOnly: true },
        "tls-key": { ...SERVING_FLAGS["tls-key"]!, cliOnly: true },
      },
      help: [
        "Downloads files from up to N online peers at once, verifying every chunk, and serves",
        "the chunks it has verified to other downloaders meanwhile (--no-upload: not). Ctrl-C stops",
        "it keeping every verified chunk; the same get resumes from NAME.part. In the shell, files",
        "are saved into the shared folder, so they are shared on.",
      ].join("\n"),
      examples: [
        "get docs/report.pdf --out ./downloads",
        'get "read me.txt" --force',
        "get --prefix photos/ --sources 6 --max-rate 50MB/s",
      ],
      needsLogin: true,
      modes: ["cli", "shell"],
      async run({ values, positionals, host }) {
        const prefix = stringValue(values.prefix);
        if (positionals.length === 0 && prefix === undefined) {
          throw new CliError(
            `Cannot run get: name at least one FILE or --prefix DIR/\nUsage: ${
              host.program ? `${host.program} ` : ""
            }get FILE... [options]`,
            USAGE_EXIT,
          );
        }
        const outDir = stringValue(values.out) ?? host.shell?.outDir ?? userPath("downloads");
        const sources = parseCount(stringValue(values.sources) ?? "4", "--sources");
        const maxRate = stringValue(values["max-rate"]);
        const limiter = maxRate ? new RateLimiter(parseRateOption(maxRate)) : undefined;
        const version = versionOption(values.version);
        const ctx = await host.login();
        const stallText = stringValue(values["stall-timeout"]);
        const stallTimeoutMs = stallText === undefined
          ? undefined
          : parseDuration(stallText, "--stall-timeout");
        const seedForText = stringValue(values["seed-for"]);
        const seedForMs = seedForText === undefined ? 0 : parseDuration(seedForText, "--seed-for");
        // A get serves what it has verified meanwhile (a partial holder), unless --no-upload; the
        // shell's serving peer does that for the shell.
        await using ownSeat = host.cli && !values["no-upload"] && ctx.trackerKey
          ? await SwarmSeat.start({
            user: ctx.user,
            trackerKey: ctx.trackerKey,
            ...(await servingOptions(
              {
                host: stringValue(values.host),
                port: stringValue(values.port),
                "announce-host": stringValue(values["announce-host"]),
                "max-upload": stringValue(values["max-upload"]),
                "tls-cert": stringValue(values["tls-cert"]),
                "tls-key": stringValue(values["tls-key"]),
              },
              parseRateOption,
            )),
          })
          : undefined;
        if (ownSeat) {
          host.log(
            `get: serving verified chunks on ${
              formatAddress(ownSeat.addr.hostname, ownSeat.addr.port)
            }`,
          );
        }
        const seat: SwarmHost | undefined = ownSeat ?? host.shell?.seat;
        let outcome: GetOutcome | undefined;
        try {
          outcome = await getCommand(ctx, positionals, {
            ...(seat ? { seat, seed: seedForMs > 0 } : {}),
            outDir,
            force: !!values.force,
            explain: !!values.explain,
            quiet: !!values.quiet,
            ...(stallTimeoutMs !== undefined ? { stallTimeoutMs } : {}),
            sources,
            ...version,
            ...(prefix !== undefined ? { prefix } : {}),
            ...(limiter ? { limiter } : {}),
            log: (line) => host.log(line),
            signal: host.signal,
          });
          if (ownSeat && seedForMs > 0 && outcome.files.length > 0 && !host.signal.aborted) {
            if (!values.quiet) host.log(`seeding for ${seedForText} on port ${ownSeat.addr.port}`);
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, seedForMs);
              host.signal.addEventListener("abort", () => {
                clearTimeout(timer);
                resolve();
              }, { once: true });
            });
          }
        } catch (error) {
          if (host.signal.aborted) {
            throw new CliError(
              `Cannot finish get: interrupted; verified chunks are kept, ${
                host.mode === "shell" ? "run it again" : "run the same command"
              } to resume`,
              130,
            );
          }
          if (error instanceof PeerError && error.code === "STALLED") {
            throw new CliError(describeError(error), STALLED_EXIT);
          }
          throw error;
        } finally {
          // A cancelled get is not a failure: nothing is counted, the folder is re-indexed.
          host.shell?.gotten(host.signal.aborted ? outcome ?? { files: [], failed: [] } : outcome);
        }
        return outcome.failed.length > 0 ? 1 : 0;
      },
    },
    {
      name: "status",
      summary: "who you are, the tracker, what you share",
      usage: "[--out DIR]",
      positionals: { name: "", min: 0, max: 0 },
      flags: {
        out: {
          type: "string",
          value: "DIR",
          path: true,
          cliOnly: true,
          help: "show the sandbox a get into DIR would have (default ./downloads)",
        },
        json: { ...JSON_FLAG, cliOnly: true },
      },
      help: [
        "Who you are, whether the tracker answers (and over TLS), your sessions, and what the",
        "tracker knows of your peer: address, online, files shared, downloads and failures. In",
        "the shell: also what this session uploaded and downloaded. Exit 1 when the tracker is",
        "unreachable.",
      ].join("\n"),
      examples: ["status --json"],
      needsLogin: true,
      modes: ["cli", "shell"],
      run(call) {
        if (call.host.shell) {
          call.host.print(call.host.shell.status());
          return Promise.resolve(0);
        }
        return cliOnly.status(call);
      },
    },
    {
      name: "sessions",
      summary: "your live sessions",
      usage: "",
      positionals: { name: "", min: 0, max: 0 },
      flags: { json: JSON_FLAG },
      help: "Lists your live sessions: where you are logged in, since when, until when.",
      examples: ["sessions --json"],
      needsLogin: true,
      modes: ["cli", "shell"],
      async run({ host }) {
        await sessionsCommand(await host.login());
        return 0;
      },
    },
    {
      name: "logout",
      summary: "end the kept session (--all: every one); in the shell: leave",
      usage: "[--all | --session ID]",
      positionals: { name: "", min: 0, max: 0 },
      flags: {
        all: { type: "boolean", help: "revoke every session of yours" },
        session: {
          type: "string",
          value: "ID",
          help: "revoke the session whose id starts with ID",
        },
        json: JSON_FLAG,
      },
      help: [
        "Ends the session 'login' kept and forgets it; --all ends every session of yours, --session",
        "one (see 'sessions'). A serving peer whose session is ended stops serving and says so. In",
        "the shell, logout with no option logs out and leaves, like quit.",
      ].join("\n"),
      examples: ["logout --all"],
      needsLogin: true,
      modes: ["cli", "shell"],
      async run({ values, host }) {
        const session = stringValue(values.session);
        const cli = host.cli;
        if (!values.all && session === undefined) {
          if (host.shell) {
            host.shell.leave();
            return 0;
          }
          if (!cli?.kept) {
            throw new CliError(
              `Cannot log out: no session is kept for this tracker (sign in with '${host.program} login'; --all ends every session of yours)`,
            );
          }
        }
        const ctx = await host.login();
        const revoked = await ctx.client.logout(
          ctx.token,
          values.all ? { all: true } : session !== undefined ? { session } : {},
        );
        // The kept session ended (it was the one asked for, or one of all): forget it.
        const forgot = cli?.kept !== undefined && (values.all || session === undefined);
        if (forgot) await cli!.forgetKept();
        if (ctx.json) ctx.print(JSON.stringify({ revoked, forgotten: forgot }));
        else {
          ctx.print(
            `revoked ${revoked} session${revoked === 1 ? "" : "s"}${
              forgot ? "; the kept session is forgotten" : ""
            }`,
          );
        }
        if (values.all) host.shell?.leave();
        return 0;
      },
    },
    {
      name: "quit",
      aliases: ["exit"],
      summary: "log out and leave (also Ctrl-D on an empty line)",
      usage: "",
      positionals: { name: "", min: 0, max: 0 },
      flags: {},
      help: "Logs out and leaves the shell.",
      examples: [],
      needsLogin: false,
      modes: ["shell"],
      run({ host }) {
        host.shell?.leave();
        return Promise.resolve(0);
      },
    },
  ];
  return table;
}

/** The list of commands, as `help` with no topic prints it. */
export function commandList(table: readonly PeerCommand[], host: PeerHost): string {
  if (host.mode === "shell") {
    return [
      "Commands:",
      renderCommandList(table, "shell"),
      "'help COMMAND' tells more. File names with spaces go in double quotes. On a terminal: Tab",
      "completes commands, file names and user names; Up/Down recall earlier lines; Ctrl-C",
      "cancels a running command or clears the line; Ctrl-D on an empty line leaves.",
    ].join("\n");
  }
  return [
    `Usage: ${host.program} <command> [options]`,
    "",
    "Commands:",
    renderCommandList(table, "cli"),
    "",
    "Common options:",
    ...Object.entries(COMMON_FLAGS).map(([name, f]) =>
      `  --${name}${f.type === "string" ? ` ${f.value}` : ""}`.padEnd(26) + f.help
    ),
    `  ${"-h, --help".padEnd(24)}show help`,
    `  ${"--version".padEnd(24)}show the program's version`,
    "",
    `Run '${host.program} <command> --help' for a command's options.`,
  ].join("\n");
}

/** A string flag's value, or undefined (a switch given where a value was wanted counts as none). */
export function stringValue(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** `--version PREFIX`, checked: 4-64 hex digits of a version id or SHA-256. */
function versionOption(value: string | boolean | undefined): { version?: string } {
  if (typeof value !== "string") return {};
  const prefix = value.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(prefix)) {
    throw new CliError(
      `Cannot use --version ${value}: give 4-64 hex digits of a version id or SHA-256 (see 'details FILE')`,
      USAGE_EXIT,
    );
  }
  return { version: prefix };
}

/** A count flag from 1 to 64, or a usage error naming the flag. */
export function parseCount(text: string, flag: string): number {
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new CliError(
      `Cannot use ${flag} "${text}": expected a whole number from 1 to 64`,
      USAGE_EXIT,
    );
  }
  return count;
}

/** A rate flag (`20MB/s`), or a usage error. */
export function parseRateOption(text: string): number {
  try {
    return parseRate(text);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), USAGE_EXIT);
  }
}
