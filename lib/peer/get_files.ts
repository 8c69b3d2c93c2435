/**
 * The get-many-files use case: which files a `--prefix DIR/` names, and fetching a list of files
 * several at a time, reusing peer connections and pings, over a few tracker connections, without
 * one file's failure stopping the others. Each file goes through {@link fetchFile}; the command
 * line and the shell call this and only print what its hooks tell them.
 *
 * @module
 */
import type { ClientTls } from "../protocol/mod.ts";
import { ConnectionPool } from "./connection_pool.ts";
import type { DownloadResult } from "./download.ts";
import { fetchFile, type FetchOptions } from "./fetch_file.ts";
import type { TrackerClient } from "./tracker_client.ts";

/** How many files {@link getFiles} fetches at once (small files are latency-bound; this hides it). */
export const PARALLEL_FILES = 8;

/** Tracker connections {@link getFiles} uses for many files. */
export const TRACKER_CONNECTIONS = 4;

/** What {@link getFiles} tells about one file while it is fetched. */
export type FileHooks = Pick<
  FetchOptions,
  "onDetails" | "onReportError" | "onProgress" | "onRanked" | "onEvent"
>;

/** Options of {@link getFiles}. */
export interface GetFilesOptions
  extends Omit<FetchOptions, "pool" | keyof FileHooks | "maxSources"> {
  /** Most sources per file (default 4). */
  maxSources?: number;
  /** TLS for peers that serve over TLS. */
  tls?: ClientTls;
  /** Opens another connection to the same tracker (the token works on any of them). */
  openClient?: () => Promise<TrackerClient>;
  /** The hooks for the file `name`, asked once as its fetch starts. */
  hooks?: (name: string) => FileHooks;
  /** Called when the file `name` is downloaded and verified. */
  onDone?: (result: DownloadResult, name: string) => void;
  /** Called when a file failed (not when the whole get was cancelled). */
  onFailed?: (name: string, error: unknown) => void;
}

/** What {@link getFiles} did for all the files it was asked for. */
export interface GetFilesOutcome {
  /** Files downloaded. */
  files: DownloadResult[];
  /** Files that failed, with why. */
  failed: Array<{ name: string; error: string }>;
}

/**
 * The names of the available files under the folder `prefix` (`photos/` or `photos`).
 *
 * @example
 * ```ts ignore
 * const names = await filesUnder(client, token, "photos/");
 * ```
 */
export async function filesUnder(
  client: TrackerClient,
  token: string,
  prefix: string,
): Promise<string[]> {
  const dir = prefix.replace(/\/+$/, "");
  const files = await client.list(token, {});
  return files.filter((f) => f.name.startsWith(`${dir}/`)).map((f) => f.name);
}

/**
 * Fetches `names`, {@link PARALLEL_FILES} at a time; with several files, over up to
 * {@link TRACKER_CONNECTIONS} tracker connections so details and reports of files fetched side by
 * side do not queue behind each other. One file's failure is recorded in the outcome (and told to
 * `onFailed`) and never stops the others; a cancelled `signal` rejects.
 *
 * @example
 * ```ts ignore
 * const outcome = await getFiles(client, token, ["a.bin", "b.bin"], {
 *   outDir: "./downloads",
 *   self: "ann",
 *   onDone: (result) => console.log(`got ${result.name}`),
 * });
 * ```
 */
export async function getFiles(
  client: TrackerClient,
  token: string,
  names: readonly string[],
  options: GetFilesOptions,
): Promise<GetFilesOutcome> {
  const { tls, openClient, hooks, onDone, onFailed, ...fetchOptions } = options;
  using pool = new ConnectionPool(tls ? { tls } : {});
  const outcome: GetFilesOutcome = { files: [], failed: [] };
  const fetchOne = async (name: string, client: TrackerClient) => {
    try {
      const result = await fetchFile(client, token, name, {
        ...fetchOptions,
        ...hooks?.(name),
        maxSources: options.maxSources ?? 4,
        pool,
      });
      outcome.files.push(result);
      onDone?.(result, name);
    } catch (error) {
      options.signal?.throwIfAborted();
      outcome.failed.push({ name, error: error instanceof Error ? error.message : String(error) });
      onFailed?.(name, error);
    }
  };
  const clients = [client];
  const extra = names.length > 1 && openClient ? TRACKER_CONNECTIONS - 1 : 0;
  for (let i = 0; i < extra; i++) {
    try {
      clients.push(await openClient!());
    } catch {
      break; // one connection will do
    }
  }
  const queue = [...names];
  const workers = Array.from(
    { length: Math.min(PARALLEL_FILES, queue.length) },
    async (_, worker) => {
      const client = clients[worker % clients.length]!;
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        await fetchOne(name, client);
      }
    },
  );
  try {
    await Promise.all(workers);
  } finally {
    for (const client of clients.slice(1)) client.close();
  }
  return outcome;
}
