/**
 * The process's open-file limit, and connection caps fitted under it. Every connection holds a
 * file descriptor, so caps that add up to more than the limit let idle connections use up the
 * descriptors the process needs for everything else (its store, new connections on its other
 * port) — `Too many open files` then fails them all. Deno raises its soft limit to the hard
 * limit at start, so the number read here is what the process really has.
 *
 * @module
 */
import { OPEN_FILES_RESERVE } from "./limits.ts";

/** Set by a parent that starts a sandboxed copy of itself, which may not read `/proc`. */
export const OPEN_FILES_ENV = "P2PFS_OPEN_FILES";

/**
 * The open-file limit of this process, or null when it cannot be read (or is unlimited). Tries
 * {@link OPEN_FILES_ENV}, then `/proc/self/limits` (needs every permission), then `ulimit -n`
 * (needs permission to run `sh`).
 *
 * @example
 * ```ts ignore
 * console.log(`limits: ${openFileLimit() ?? "unknown"} open files`);
 * ```
 */
export function openFileLimit(): number | null {
  const attempts: (() => string | undefined)[] = [
    () => Deno.env.get(OPEN_FILES_ENV),
    () => Deno.readTextFileSync("/proc/self/limits").match(/^Max open files\s+(\S+)/m)?.[1],
    () => {
      const out = new Deno.Command("sh", { args: ["-c", "ulimit -n"], stderr: "null" })
        .outputSync();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
    },
  ];
  for (const attempt of attempts) {
    let text: string | undefined;
    try {
      text = attempt();
    } catch {
      continue; // not permitted, or not on this system
    }
    if (text === undefined || text === "") continue;
    if (text === "unlimited") return null;
    const value = Number(text);
    if (Number.isInteger(value) && value > 0) return value;
  }
  return null;
}

/**
 * Lowers `caps` (connections per kind) in proportion until they fit under `openFiles` less
 * `reserve`, counting `filesEach[kind]` descriptors per connection (default 1). Returns them
 * unchanged when they fit or the limit is unknown; throws a `RangeError` when the limit leaves no
 * room at all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitConnectionCaps } from "./open_files.ts";
 * const caps = fitConnectionCaps(256, { protocol: 1024, dashboard: 256 });
 * assert.deepEqual(caps, { protocol: 153, dashboard: 38 });
 * assert.deepEqual(fitConnectionCaps(null, { protocol: 1024 }), { protocol: 1024 });
 * ```
 */
export function fitConnectionCaps<K extends string>(
  openFiles: number | null,
  caps: Record<K, number>,
  options: { reserve?: number; filesEach?: Partial<Record<K, number>> } = {},
): Record<K, number> {
  if (openFiles === null) return { ...caps };
  const kinds = Object.keys(caps) as K[];
  const room = openFiles - (options.reserve ?? OPEN_FILES_RESERVE);
  const files = (kind: K) => caps[kind] * (options.filesEach?.[kind] ?? 1);
  const wanted = kinds.reduce((sum, kind) => sum + files(kind), 0);
  if (wanted <= room) return { ...caps };
  const minimum = kinds.reduce((sum, kind) => sum + (options.filesEach?.[kind] ?? 1), 0);
  if (room < minimum) {
    throw new RangeError(
      `Cannot fit connections: the open-file limit ${openFiles} leaves no room beside the ${
        options.reserve ?? OPEN_FILES_RESERVE
      } the process needs; raise it (ulimit -n)`,
    );
  }
  const share = room / wanted;
  const fitted = {} as Record<K, number>;
  for (const kind of kinds) fitted[kind] = Math.max(1, Math.floor(caps[kind] * share));
  return fitted;
}
