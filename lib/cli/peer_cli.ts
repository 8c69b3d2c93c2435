/**
 * `p2pfs-peer <command>` (or `deno task -q peer <command>`): finds the command in the command
 * table, parses and checks its flags, logs in when it needs to, runs it, prints one clear line on
 * stderr and exits non-zero on failure (2 for usage mistakes).
 *
 * @module
 */
import {
  formatAddress,
  formatTrackers,
  parseAddress,
  PeerNode,
  type Session,
  type TrackerAddress,
  TrackerClient,
} from "../peer/mod.ts";
import {
  type ClientTls,
  MIN_PASSWORD_LENGTH,
  readPem,
  RemoteError,
  USERNAME_PATTERN,
} from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { servingOptions } from "./serving_options.ts";
import { colourFor, paint } from "./colour.ts";
import {
  checkPositionals,
  type CommandCall,
  findCommand,
  flagsFor,
  parseFlags,
  renderHelp,
  USAGE_EXIT,
} from "./command_spec.ts";
import { describeError } from "./describe_error.ts";
import {
  commandList,
  COMMON_FLAGS,
  parseRateOption,
  type PeerCliSettings,
  type PeerCommand,
  peerCommands,
  type PeerHost,
  stringValue,
} from "./peer_command_table.ts";
import type { CommandContext } from "./peer_commands.ts";
import { readNewPassword, readPassword } from "./password_prompt.ts";
import {
  forgetSession,
  loadSession,
  saveSession,
  sessionFile,
  type StoredSession,
} from "./session_store.ts";
import { userCwd } from "./paths.ts";
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
import { versionLine } from "./version.ts";
import { userPath } from "./paths.ts";
import { visible, visibleJson } from "./visible.ts";

export { describeError };

/** How the peer program is called in messages. */
export const PEER_PROGRAM = "p2pfs-peer";

/** The tracker's default port, used when `--tracker` names only a host. */
export const DEFAULT_TRACKER_PORT = 7070;

/** The peer's command table, as the command line and the shell use it. */
export const PEER_COMMANDS: readonly PeerCommand[] = peerCommands({
  register: runRegister,
  login: runLogin,
  passwd: runPasswd,
  serve: (call) => runServing(call, false),
  shell: (call) => runServing(call, true),
  status: runStatus,
});

/** Runs the peer command line; resolves to the exit code. */
export async function runPeerCli(args: string[]): Promise<number> {
  const hints = { typedPassword: false };
  try {
    const name = args[0];
    const bare: PeerHost = {
      mode: "cli",
      program: PEER_PROGRAM,
      print: (text) => console.log(text),
      log: (line) => console.error(line),
      colour: colourFor(Deno.stdout),
      signal: new AbortController().signal,
      login: () => Promise.reject(new Error("Cannot log in: no command")),
    };
    if (name === undefined || name === "-h" || name === "--help") {
      console.log(commandList(PEER_COMMANDS, bare));
      return name === undefined ? USAGE_EXIT : 0;
    }
    if (name === "--version" || name === "-V") {
      console.log(versionLine(PEER_PROGRAM));
      return 0;
    }
    const command = findCommand(PEER_COMMANDS, name, "cli");
    const { values, positionals } = parseFlags(
      args.slice(1),
      flagsFor(command, "cli", COMMON_FLAGS),
      userCwd(),
    );
    if (values.help) {
      console.log(renderHelp(command, "cli", PEER_PROGRAM, COMMON_FLAGS));
      return 0;
    }
    checkPositionals(command, positionals, PEER_PROGRAM);
    if (command.name === "help") return await command.run({ values, positionals, host: bare });

    const tracker = parseTrackers(
      stringValue(values.tracker) ?? Deno.env.get("P2PFS_TRACKER") ?? "127.0.0.1",
    );
    const named = stringValue(values.user) ?? Deno.env.get("P2PFS_USER");
    const kept = await keptSession(command.name, tracker, named);
    const user = named ?? kept?.user;
    if (!user) {
      throw new CliError(
        `Cannot run ${command.name}: give --user NAME or set P2PFS_USER (or sign in once with '${PEER_PROGRAM} login --user NAME')`,
        2,
      );
    }
    if (!USERNAME_PATTERN.test(user)) {
      throw new CliError(
        `Cannot use user name "${user}": use 1-32 of A-Z a-z 0-9 _ . -, not . or ..`,
        USAGE_EXIT,
      );
    }
    const caFile = stringValue(values["tls-ca"]) ??
      (Deno.env.get("P2PFS_TLS_CA") ? userPath(Deno.env.get("P2PFS_TLS_CA")!) : undefined);
    const tlsFiles = [caFile, stringValue(values["tls-cert"]), stringValue(values["tls-key"])]
      .filter((f) => f !== undefined);

    // Folders are checked (and the shell's created) before the sandbox, which could not.
    const share = await shareFolder(command.name, stringValue(values.share));
    // serve, shell and get run in a child process whose Deno permissions cover only their folders.
    if (
      ["serve", "shell", "get"].includes(command.name) && Deno.env.get(SANDBOXED_ENV) !== "1" &&
      !values["no-sandbox"] && canSandbox()
    ) {
      const out = stringValue(values.out) ??
        (command.name === "get" ? userPath("downloads") : share ?? userCwd());
      const scope = sandboxScope(command.name, { ...(share ? { share } : {}), out, tlsFiles });
      const args = childArgs(
        command.name,
        { ...values, ...(share ? { share } : {}), ...(command.name === "get" ? { out } : {}) },
        positionals,
      );
      if (scope) {
        // The child may not read the config folder: it is handed the kept session.
        if (kept) {
          Deno.env.set(SESSION_TOKEN_ENV, kept.token);
          Deno.env.set("P2PFS_USER", kept.user);
        }
        return await runSandboxed(args, scope);
      }
    }

    const clientTls: ClientTls | undefined = caFile
      ? { caCerts: [await readPemOption(caFile)] }
      : values.tls || Deno.env.get("P2PFS_TLS") === "1"
      ? {}
      : undefined;
    let password: Promise<string> | undefined;
    const settings: PeerCliSettings = {
      tracker,
      user,
      ...(kept ? { kept } : {}),
      forgetKept: async () => {
        if (Deno.env.get(SANDBOXED_ENV) !== "1") await forgetSession(tracker);
      },
      ...(clientTls ? { clientTls } : {}),
      noSandbox: !!values["no-sandbox"],
      password: () => {
        hints.typedPassword = !Deno.env.get("P2PFS_PASSWORD");
        return password ??= readPassword(`Password for ${user}: `);
      },
      connect: (agent) =>
        TrackerClient.connect(tracker, { agent, ...(clientTls ? { tls: clientTls } : {}) }),
      commands: PEER_COMMANDS,
    };
    const json = !!values.json;
    let login: { client: TrackerClient; token: string; kept: boolean } | undefined;
    let ctx: Promise<CommandContext> | undefined;
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    const cancellable = command.name === "get";
    if (cancellable) {
      Deno.addSignalListener("SIGINT", onSignal);
      Deno.addSignalListener("SIGTERM", onSignal);
    }
    const host: PeerHost = {
      ...bare,
      signal: stop.signal,
      cli: settings,
      login: () =>
        ctx ??= (async () => {
          const client = await settings.connect(`p2pfs-${command.name}`);
          let session;
          try {
            session = await signIn(client, settings);
            login = { client, token: session.token, kept: settings.kept !== undefined };
          } catch (error) {
            client.close();
            throw error;
          }
          return {
            client,
            token: login.token,
            // The spelling the account was registered with (names are case-insensitive).
            user: session.user,
            trackerKey: session.trackerKey,
            json,
            colour: colourFor(Deno.stdout),
            // JSON text keeps its exact value; DEL and C1 in its strings are written as escapes.
            print: (text: string) => console.log(json ? visibleJson(text) : text),
            openClient: () => settings.connect(`p2pfs-${command.name}`),
            ...(clientTls ? { tls: clientTls } : {}),
          };
        })(),
    };
    try {
      return await command.run({ values, positionals, host });
    } finally {
      if (cancellable) {
        Deno.removeSignalListener("SIGINT", onSignal);
        Deno.removeSignalListener("SIGTERM", onSignal);
      }
      if (login) {
        // A session of this command alone ends with it; a kept one is kept.
        if (!login.kept) await login.client.logout(login.token).catch(() => {});
        login.client.close();
      }
    }
  } catch (error) {
    console.error(
      `${paint("red", "error:", colourFor(Deno.stderr))} ${describeError(error, hints)}`,
    );
    return error instanceof CliError ? error.exitCode : 1;
  }
}

/**
 * `--tracker HOST[:PORT][,HOST[:PORT]...]`: the trackers of one cluster, tried in order (the first
 * that answers; the next when it fails).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrackers } from "./peer_cli.ts";
 * assert.deepEqual(parseTrackers("a:1, b"), [
 *   { hostname: "a", port: 1 },
 *   { hostname: "b", port: 7070 },
 * ]);
 * ```
 */
export function parseTrackers(text: string): TrackerAddress[] {
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (parts.length === 0) {
    throw new CliError(`Cannot use --tracker "${text}": expected HOST[:PORT][,HOST[:PORT]...]`, 2);
  }
  const seen = new Map<string, TrackerAddress>();
  for (const part of parts) {
    const address = parseTracker(part);
    seen.set(formatAddress(address.hostname, address.port), address);
  }
  return [...seen.values()];
}

/**
 * `--tracker HOST[:PORT]`: the port defaults to {@link DEFAULT_TRACKER_PORT}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTracker } from "./peer_cli.ts";
 * assert.deepEqual(parseTracker("localhost"), { hostname: "localhost", port: 7070 });
 * assert.deepEqual(parseTracker("[::1]"), { hostname: "::1", port: 7070 });
 * assert.deepEqual(parseTracker("10.0.0.5:9000"), { hostname: "10.0.0.5", port: 9000 });
 * ```
 */
export function parseTracker(text: string): TrackerAddress {
  const bracketed = /^\[([^\]]+)\]$/.exec(text);
  const withPort = bracketed
    ? `${text}:${DEFAULT_TRACKER_PORT}`
    : /^[^:]+$/.test(text)
    ? `${text}:${DEFAULT_TRACKER_PORT}`
    : text;
  try {
    return parseAddress(withPort);
  } catch (error) {
    throw new CliError(
      `${error instanceof Error ? error.message : String(error)} (e.g. --tracker 127.0.0.1:7070)`,
      USAGE_EXIT,
    );
  }
}

/** The arguments a sandboxed child gets: the same command, with paths already absolute. */
function childArgs(
  name: string,
  values: Readonly<Record<string, string | boolean>>,
  positionals: readonly string[],
): string[] {
  const flags = Object.entries(values).flatMap(([key, value]) =>
    value === true ? [`--${key}`] : typeof value === "string" ? [`--${key}=${value}`] : []
  );
  return [name, ...flags, "--", ...positionals];
}

/** The shared folder of `serve` and `shell`, absolute and real; `shell` creates a missing one. */
async function shareFolder(
  command: string,
  share: string | undefined,
): Promise<string | undefined> {
  if (command !== "serve" && command !== "shell") return undefined;
  if (share === undefined) {
    throw new CliError(
      `Cannot run ${command}: give --share DIR\nUsage: ${PEER_PROGRAM} ${command} --share DIR [options]`,
      USAGE_EXIT,
    );
  }
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(share);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info === undefined) {
    if (command === "serve") {
      throw new CliError(
        `Cannot share ${share}: it does not exist (create it, or give another --share)`,
        USAGE_EXIT,
      );
    }
    await Deno.mkdir(share, { recursive: true });
    if (Deno.env.get(SANDBOXED_ENV) !== "1") console.error(`peer: created ${share}`);
  } else if (!info.isDirectory) {
    throw new CliError(
      `Cannot share ${share}: it is a file, not a folder (give the folder that holds it)`,
      USAGE_EXIT,
    );
  }
  return await Deno.realPath(share);
}

/** Internal: the kept session's token, handed by the CLI to its sandboxed child. */
const SESSION_TOKEN_ENV = "P2PFS_SESSION_TOKEN";

/**
 * The kept session this command uses instead of a password: the one handed to a sandboxed
 * child, or the one `login` stored for these trackers, for the same account (none for
 * `register` and `login`). Without one, commands sign in with `P2PFS_PASSWORD` (or a typed
 * password), for that command alone, as scripts always did.
 */
async function keptSession(
  command: string,
  tracker: TrackerAddress[],
  named: string | undefined,
): Promise<StoredSession | undefined> {
  if (command === "register" || command === "login") return undefined;
  const handed = Deno.env.get(SANDBOXED_ENV) === "1" ? Deno.env.get(SESSION_TOKEN_ENV) : undefined;
  if (handed && named) return { user: named, token: handed, expiresAt: Infinity };
  const stored = await loadSession(tracker).catch(() => undefined);
  if (!stored) return undefined;
  if (named && named.toLowerCase() !== stored.user.toLowerCase()) return undefined;
  return stored;
}

/**
 * A session on `client`: the kept one picked up again, or a new login with the password. A kept
 * session that was revoked or has expired is forgotten, with one line saying to sign in again.
 */
async function signIn(client: TrackerClient, settings: PeerCliSettings): Promise<Session> {
  const kept = settings.kept;
  if (!kept) return await client.login(settings.user, await settings.password());
  try {
    return await client.resume(kept.token);
  } catch (error) {
    if (!(error instanceof RemoteError && error.code === "BAD_TOKEN")) throw error;
    await settings.forgetKept().catch(() => {});
    // A script that also gives the password goes on with it.
    if (Deno.env.get("P2PFS_PASSWORD")) {
      delete settings.kept;
      return await client.login(settings.user, await settings.password());
    }
    throw new CliError(
      `Cannot use the session of ${kept.user} kept for ${
        formatTrackers(settings.tracker)
      }: it was ended or has expired; sign in again with '${PEER_PROGRAM} login'`,
    );
  }
}

/** `login`: a session kept in the config folder for every later command (see session_store.ts). */
async function runLogin({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  const password = await settings.password();
  await using client = await settings.connect("p2pfs-login");
  const session = await client.login(settings.user, password, { remember: true });
  const path = sessionFile();
  try {
    await saveSession(settings.tracker, {
      user: session.user,
      token: session.token,
      expiresAt: session.expiresAt,
    }, path);
  } catch (error) {
    await client.logout(session.token).catch(() => {});
    throw new CliError(
      `Cannot keep the session in ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const where = formatTrackers(settings.tracker);
  if (values.json) {
    console.log(visibleJson(JSON.stringify({
      user: session.user,
      tracker: where,
      expiresAt: session.expiresAt,
      file: path,
    })));
  } else {
    console.log(
      `logged in as ${session.user} on ${where} until ${
        new Date(session.expiresAt).toISOString().slice(0, 10)
      }; the session is kept in ${path}`,
    );
  }
  return 0;
}

/** `passwd`: changes the account's password (the old one required). */
async function runPasswd({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  const old = await readPassword(`Current password for ${settings.user}: `);
  const next = await readNewPassword(settings.user);
  if (next.length < MIN_PASSWORD_LENGTH) {
    throw new CliError(
      `Cannot change the password: the new one has ${next.length} characters; it needs at least ${MIN_PASSWORD_LENGTH}`,
      USAGE_EXIT,
    );
  }
  const ctx = await host.login();
  const ended = await ctx.client.passwd(ctx.token, old, next, {
    keepSessions: !!values["keep-sessions"],
  });
  if (values.json) console.log(JSON.stringify({ user: ctx.user, changed: true, ended }));
  else {
    console.log(
      `changed the password of ${ctx.user}${
        ended > 0 ? `; ended ${ended} other session${ended === 1 ? "" : "s"}` : ""
      }`,
    );
  }
  return 0;
}

async function runRegister({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  const password = await settings.password();
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new CliError(
      `Cannot register ${settings.user}: the password has ${password.length} characters; it needs at least ${MIN_PASSWORD_LENGTH} characters`,
      USAGE_EXIT,
    );
  }
  await using client = await settings.connect("p2pfs-register");
  const invite = stringValue(values.invite);
  const { admin } = await client.register(
    settings.user,
    password,
    invite !== undefined ? { invite } : {},
  );
  if (values.json) console.log(JSON.stringify({ user: settings.user, registered: true, admin }));
  else {
    console.log(
      `registered ${settings.user}${admin ? " (the tracker's first account: its admin)" : ""}`,
    );
  }
  return 0;
}

async function runStatus({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  if (!settings.kept) await settings.password(); // asked before anything is printed
  let login: { client: TrackerClient; token: string } | undefined;
  try {
    const report = await gatherStatus({
      user: settings.user,
      address: formatTrackers(settings.tracker),
      tls: settings.clientTls !== undefined,
      getSandbox: settings.noSandbox ? null : sandboxScope("get", {
        out: stringValue(values.out) ?? userPath("downloads"),
        tlsFiles: [],
      }),
      connect: async () => {
        const client = await settings.connect("p2pfs-status");
        try {
          login = { client, token: (await signIn(client, settings)).token };
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
      if (!settings.kept) await login.client.logout(login.token).catch(() => {});
      login.client.close();
    }
  }
}

/** `serve` and `shell`: a serving peer, then either waiting for a signal or the shell. */
async function runServing(
  { values, host }: CommandCall<PeerHost>,
  isShell: boolean,
): Promise<number> {
  const settings = host.cli!;
  const name = isShell ? "shell" : "serve";
  const serving = await servingOptions(
    {
      host: stringValue(values.host),
      port: stringValue(values.port),
      "announce-host": stringValue(values["announce-host"]),
      "max-upload": stringValue(values["max-upload"]),
      "tls-cert": stringValue(values["tls-cert"]),
      "tls-key": stringValue(values["tls-key"]),
    },
    parseRateOption,
    name,
  );
  const share = (await shareFolder(name, stringValue(values.share)))!;
  const ticketWindow = stringValue(values["ticket-window-ms"]);
  const maxUnticketed = stringValue(values["max-unticketed"]);
  const password = settings.kept ? "" : await settings.password();
  let log = (line: string) => console.error(line);
  const node = await PeerNode.start({
    tracker: settings.tracker,
    user: settings.user,
    ...(settings.kept ? { token: settings.kept.token } : { password }),
    shareDir: share,
    hostname: serving.hostname ?? "127.0.0.1",
    port: serving.port ?? 0,
    ...(serving.announceHost ? { announceHost: serving.announceHost } : {}),
    ...(serving.uploadLimiter ? { uploadLimiter: serving.uploadLimiter } : {}),
    ...(serving.tls ? { serverTls: serving.tls } : {}),
    ...(settings.clientTls ? { trackerTls: settings.clientTls } : {}),
    ...(ticketWindow !== undefined
      ? { ticketWindowMs: parsePositive(ticketWindow, "--ticket-window-ms") }
      : {}),
    ...(maxUnticketed !== undefined
      ? { maxUnticketed: parsePositive(maxUnticketed, "--max-unticketed") }
      : {}),
    onLog: (line) => log(`peer: ${visible(line)}`),
  });
  const where = formatTrackers(settings.tracker);
  try {
    if (!isShell) {
      // Listen for signals before saying we are ready: a SIGTERM sent as soon as the line is
      // seen would otherwise kill the process without logging out.
      const stopped = waitForSignal();
      const scope = currentScope();
      console.error(scope ? `peer: ${describeScope(scope)}` : "peer: not sandboxed (--no-sandbox)");
      console.log(
        `peer ${settings.user} serving ${node.files.size} files on ${
          formatAddress(node.addr.hostname, node.addr.port)
        }`,
      );
      const ended = await Promise.race([stopped.then(() => undefined), node.ended]);
      if (ended !== undefined) {
        const again = settings.kept
          ? `sign in again with '${PEER_PROGRAM} login' and start serve again`
          : "start serve again";
        throw new CliError(`Cannot serve as ${settings.user} any longer: ${ended}; ${again}`);
      }
    } else {
      await runShell(node, {
        tracker: settings.tracker,
        user: settings.user,
        password,
        outDir: stringValue(values.out) ?? node.root,
        commands: settings.commands,
        ...(settings.clientTls ? { tls: settings.clientTls } : {}),
        setLog: (print) => log = print,
      });
    }
  } finally {
    await node.close();
  }
  if (isShell) console.log(`bye, ${settings.user}: logged out of ${where}`);
  return 0;
}

async function readPemOption(path: string): Promise<string> {
  try {
    return await readPem(path);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), USAGE_EXIT);
  }
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
