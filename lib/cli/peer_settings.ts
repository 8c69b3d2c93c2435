/**
 * The peer command line's settings: its flags and environment (`P2PFS_TRACKER`, `P2PFS_USER`,
 * `P2PFS_TLS_CA`, `P2PFS_TLS`) and the session `login` kept, turned into one checked
 * {@link PeerSettings}, with a usage error (exit 2) for anything malformed.
 *
 * @module
 */
import { formatAddress, parseAddress, type TrackerAddress } from "../peer/mod.ts";
import { DEFAULT_HOST, DEFAULT_TRACKER_PORT, USERNAME_PATTERN } from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { type FlagValues, USAGE_EXIT } from "./command_spec.ts";
import { stringValue } from "./flag_values.ts";
import { userPath } from "./paths.ts";
import { PEER_PROGRAM, type PeerCommand } from "./peer_host.ts";
import { SANDBOXED_ENV } from "./sandbox.ts";
import { loadSession, type StoredSession } from "./session_store.ts";

/** Internal: the kept session's token, handed by the command line to its sandboxed child. */
export const SESSION_TOKEN_ENV = "P2PFS_SESSION_TOKEN";

/** What a peer command runs with, from its flags, the environment and the kept session. */
export interface PeerSettings {
  /** The trackers of one cluster, in the order to try them. */
  tracker: TrackerAddress[];
  /** Who runs the command: `--user`, `P2PFS_USER`, or the kept session's. */
  user: string;
  /** The session this command uses instead of a password. */
  kept?: StoredSession;
  /** `--tls-ca` or `P2PFS_TLS_CA`, absolute. */
  caFile?: string;
  /** `--tls` or `P2PFS_TLS=1`: TLS trusting the system's CAs. */
  tls: boolean;
  /** Every TLS file the command reads (the CA, a serving peer's cert and key). */
  tlsFiles: string[];
  /** The shared folder of `serve` and `shell`, absolute and real. */
  share?: string;
  /** `--no-sandbox`. */
  noSandbox: boolean;
}

/**
 * Reads the settings of `command` from its flag values and the environment: the trackers, the
 * user (checked), the kept session (for a command that needs a login), TLS and the shared folder
 * (checked; `shell` creates a missing one).
 */
export async function readPeerSettings(
  command: Pick<PeerCommand, "name" | "needsLogin">,
  values: FlagValues,
): Promise<PeerSettings> {
  const tracker = parseTrackers(
    stringValue(values.tracker) ?? Deno.env.get("P2PFS_TRACKER") ?? DEFAULT_HOST,
  );
  const named = stringValue(values.user) ?? Deno.env.get("P2PFS_USER");
  const kept = command.needsLogin ? await keptSession(tracker, named) : undefined;
  const user = named ?? kept?.user;
  if (!user) {
    throw new CliError(
      `Cannot run ${command.name}: give --user NAME or set P2PFS_USER (or sign in once with '${PEER_PROGRAM} login --user NAME')`,
      USAGE_EXIT,
    );
  }
  if (!USERNAME_PATTERN.test(user)) {
    throw new CliError(
      `Cannot use user name "${user}": use 1-32 of A-Z a-z 0-9 _ . -, not . or ..`,
      USAGE_EXIT,
    );
  }
  const caEnv = Deno.env.get("P2PFS_TLS_CA");
  const caFile = stringValue(values["tls-ca"]) ?? (caEnv ? userPath(caEnv) : undefined);
  const tlsFiles = [caFile, stringValue(values["tls-cert"]), stringValue(values["tls-key"])]
    .filter((f) => f !== undefined);
  // Folders are checked (and the shell's created) before the sandbox, which could not.
  const share = await shareFolder(command.name, stringValue(values.share));
  return {
    tracker,
    user,
    ...(kept ? { kept } : {}),
    ...(caFile !== undefined ? { caFile } : {}),
    tls: !!values.tls || Deno.env.get("P2PFS_TLS") === "1",
    tlsFiles,
    ...(share !== undefined ? { share } : {}),
    noSandbox: !!values["no-sandbox"],
  };
}

/**
 * `--tracker HOST[:PORT][,HOST[:PORT]...]`: the trackers of one cluster, tried in order (the first
 * that answers; the next when it fails); duplicates count once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrackers } from "./peer_settings.ts";
 * assert.deepEqual(parseTrackers("a:1, b, a:1"), [
 *   { hostname: "a", port: 1 },
 *   { hostname: "b", port: 7070 },
 * ]);
 * ```
 */
export function parseTrackers(text: string): TrackerAddress[] {
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (parts.length === 0) {
    throw new CliError(
      `Cannot use --tracker "${text}": expected HOST[:PORT][,HOST[:PORT]...]`,
      USAGE_EXIT,
    );
  }
  const seen = new Map<string, TrackerAddress>();
  for (const part of parts) {
    const address = parseTracker(part);
    seen.set(formatAddress(address.hostname, address.port), address);
  }
  return [...seen.values()];
}

/**
 * `--tracker HOST[:PORT]`: the port defaults to `DEFAULT_TRACKER_PORT`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTracker } from "./peer_settings.ts";
 * assert.deepEqual(parseTracker("localhost"), { hostname: "localhost", port: 7070 });
 * assert.deepEqual(parseTracker("[::1]"), { hostname: "::1", port: 7070 });
 * assert.deepEqual(parseTracker("10.0.0.5:9000"), { hostname: "10.0.0.5", port: 9000 });
 * ```
 */
export function parseTracker(text: string): TrackerAddress {
  const bracketed = /^\[([^\]]+)\]$/.test(text);
  const withPort = bracketed || /^[^:]+$/.test(text) ? `${text}:${DEFAULT_TRACKER_PORT}` : text;
  try {
    return parseAddress(withPort);
  } catch (error) {
    throw new CliError(
      `${
        error instanceof Error ? error.message : String(error)
      } (e.g. --tracker ${DEFAULT_HOST}:${DEFAULT_TRACKER_PORT})`,
      USAGE_EXIT,
    );
  }
}

/** The shared folder of `serve` and `shell`, absolute and real; `shell` creates a missing one. */
export async function shareFolder(
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

/**
 * The kept session a command that needs a login uses instead of a password: the one handed to a
 * sandboxed child, or the one `login` stored for these trackers, for the same account (`register`
 * and `login` need none). Without one, commands sign in with `P2PFS_PASSWORD` (or a typed
 * password), for that command alone, as scripts always did.
 */
async function keptSession(
  tracker: TrackerAddress[],
  named: string | undefined,
): Promise<StoredSession | undefined> {
  const handed = Deno.env.get(SANDBOXED_ENV) === "1" ? Deno.env.get(SESSION_TOKEN_ENV) : undefined;
  if (handed && named) return { user: named, token: handed, expiresAt: Infinity };
  const stored = await loadSession(tracker).catch(() => undefined);
  if (!stored) return undefined;
  if (named && named.toLowerCase() !== stored.user.toLowerCase()) return undefined;
  return stored;
}
