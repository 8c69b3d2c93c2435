/**
 * Kept sessions: `p2pfs-peer login` stores the session token it got in the user's config folder,
 * and every later command uses it, like `gh`, `docker` or `npm` do. The file is
 * `$XDG_CONFIG_HOME/p2pfs/sessions.json` (or `~/.config/p2pfs/sessions.json`), readable by its
 * owner alone (mode 0600, its folder 0700), with one entry per tracker cluster: the `--tracker`
 * list as given, sorted. It holds tokens, never passwords; a token is worth a session until it
 * expires (`STORED_SESSION_TTL_MS`) or is revoked (`logout`, `passwd`).
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { TrackerAddress } from "../peer/mod.ts";
import { formatAddress } from "../peer/mod.ts";

/** One kept session. */
export interface StoredSession {
  /** The account, as registered. */
  user: string;
  /** The session token. */
  token: string;
  /** When it expires, ms since the epoch. */
  expiresAt: number;
}

/** The file that holds kept sessions, from the environment (`XDG_CONFIG_HOME`, `HOME`). */
export function sessionFile(): string {
  const config = Deno.env.get("XDG_CONFIG_HOME") ||
    join(Deno.env.get("HOME") ?? Deno.cwd(), ".config");
  return join(config, "p2pfs", "sessions.json");
}

/**
 * The key of a tracker cluster in the file: its addresses, sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterKey } from "./session_store.ts";
 * const a = clusterKey([{ hostname: "b", port: 1 }, { hostname: "a", port: 2 }]);
 * assert.equal(a, "a:2,b:1");
 * ```
 */
export function clusterKey(trackers: readonly TrackerAddress[]): string {
  return trackers.map((t) => formatAddress(t.hostname, t.port)).sort().join(",");
}

/** Every kept session by cluster key; an unreadable or missing file holds none. */
async function readAll(path: string): Promise<Record<string, StoredSession>> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(path));
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

async function writeAll(path: string, sessions: Record<string, StoredSession>): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, JSON.stringify(sessions, null, 2) + "\n", {
      mode: 0o600,
      createNew: true,
    });
    await Deno.chmod(temp, 0o600); // whatever the umask
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** The session kept for `trackers`, if any (an expired one counts as none). */
export async function loadSession(
  trackers: readonly TrackerAddress[],
  path: string = sessionFile(),
  now: number = Date.now(),
): Promise<StoredSession | undefined> {
  const entry = (await readAll(path))[clusterKey(trackers)];
  if (
    !entry || typeof entry.user !== "string" || typeof entry.token !== "string" ||
    typeof entry.expiresAt !== "number" || entry.expiresAt <= now
  ) {
    return undefined;
  }
  return entry;
}

/** Keeps `session` for `trackers` (replacing the one kept before). */
export async function saveSession(
  trackers: readonly TrackerAddress[],
  session: StoredSession,
  path: string = sessionFile(),
): Promise<void> {
  const all = await readAll(path);
  all[clusterKey(trackers)] = session;
  await writeAll(path, all);
}

/** Forgets the session kept for `trackers`; whether there was one. */
export async function forgetSession(
  trackers: readonly TrackerAddress[],
  path: string = sessionFile(),
): Promise<boolean> {
  const all = await readAll(path);
  const key = clusterKey(trackers);
  if (!(key in all)) return false;
  delete all[key];
  await writeAll(path, all);
  return true;
}
