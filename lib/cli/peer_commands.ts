/**
 * What each one-shot peer command does and prints, given a logged-in tracker client.
 * Shared by the command line and the interactive shell.
 *
 * @module
 */
import {
  ConnectionPool,
  type DownloadResult,
  fetchFile,
  formatAddress,
  pingPeer,
  type RateLimiter,
  type SwarmHost,
  type TrackerClient,
} from "../peer/mod.ts";
import type { ClientTls, FileDetails, FileSummary, SessionInfo } from "../protocol/mod.ts";
import { paint } from "./colour.ts";
import {
  formatBytes,
  formatChunks,
  formatCount,
  formatSeconds,
  formatTable,
  percentages,
  type TableOptions,
} from "./format.ts";
import { ProgressLine } from "./progress.ts";
import { visible } from "./visible.ts";

/** A logged-in context for commands. */
export interface CommandContext {
  /** The tracker connection. */
  client: TrackerClient;
  /** The session token. */
  token: string;
  /** Who is logged in. */
  user: string;
  /** The tracker's ticket key from login (base64url), for serving while downloading. */
  trackerKey?: string;
  /** Prints one line of output. */
  print: (text: string) => void;
  /** Whether to print JSON instead of text. */
  json: boolean;
  /** TLS settings for peers that serve over TLS (and the tracker, if it does). */
  tls?: ClientTls;
  /** Opens another connection to the same tracker (the token works on any of them). */
  openClient?: () => Promise<TrackerClient>;
  /** Whether human output may use colour (stdout is a terminal and `NO_COLOR` is unset). */
  colour?: boolean;
}

/**
 * Table styling for human output: bold headers; `yes`/`no` in green/red in the columns listed in
 * `flags`; nothing at all without colour.
 */
export function tableStyle(colour: boolean, flags: number[] = []): TableOptions {
  if (!colour) return {};
  return {
    header: (text) => paint("bold", text, true),
    cell: (padded, value, column) =>
      flags.includes(column) && (value === "yes" || value === "no")
        ? paint(value === "yes" ? "green" : "red", padded, true)
        : padded,
  };
}

/** `list [--search TEXT] [--all]`. */
export async function listCommand(
  ctx: CommandContext,
  options: { search?: string; all?: boolean },
): Promise<FileSummary[]> {
  const files = await ctx.client.list(ctx.token, options);
  if (ctx.json) {
    ctx.print(
      JSON.stringify(
        files.map(({ name, size, sha256, id, sources }) => ({ name, size, sha256, id, sources })),
      ),
    );
  } else if (files.length === 0) {
    ctx.print(
      options.search ? `no files match "${visible(options.search)}"` : "no files available",
    );
  } else {
    // Each version once; the VERSION column (the start of its id) tells versions of a name apart.
    ctx.print(formatTable(
      ["NAME", "SIZE", "SOURCES", "VERSION", "SHA-256"],
      files.map((f) => [
        f.name,
        formatBytes(f.size),
        String(f.sources),
        f.id.slice(0, 12),
        f.sha256.slice(0, 16),
      ]),
      { right: [1, 2], ...tableStyle(ctx.colour ?? false) },
    ));
  }
  return files;
}

/**
 * The note `get` and `details` print on stderr when a name has several versions: which one was
 * taken and how to ask for another.
 */
export function versionsNote(details: FileDetails): string | undefined {
  if (details.versions.length < 2) return undefined;
  const others = details.versions.filter((v) => v.id !== details.id).map((v) =>
    `${v.id.slice(0, 12)} (${formatBytes(v.size)}, ${v.online} online)`
  );
  return `${details.name} has ${details.versions.length} versions; using ${
    details.id.slice(0, 12)
  } (${formatBytes(details.size)}); others: ${others.join(", ")}; choose one with --version PREFIX`;
}

/** `details FILE [--version PREFIX]`. */
export async function detailsCommand(
  ctx: CommandContext,
  name: string,
  options: { version?: string; log?: (line: string) => void } = {},
): Promise<FileDetails> {
  const details = await ctx.client.details(
    ctx.token,
    name,
    options.version ? { version: options.version } : {},
  );
  const note = options.version ? undefined : versionsNote(details);
  if (note) options.log?.(note);
  if (ctx.json) {
    ctx.print(JSON.stringify({
      name: details.name,
      id: details.id,
      size: details.size,
      sha256: details.sha256,
      chunkSize: details.chunkSize,
      chunks: details.chunkHashes.length,
      peers: details.peers.map((p) => ({
        user: p.user,
        address: formatAddress(p.host, p.port),
        online: p.online,
        downloads: p.downloads,
        failures: p.failures,
        complete: p.complete ?? true,
        progress: p.progress ?? 1,
        stalled: p.stalled ?? false,
      })),
      versions: details.versions.map(({ id, sha256, size, chunkSize, holders, online }) => ({
        id,
        sha256,
        size,
        chunkSize,
        holders,
        online,
      })),
    }));
  } else {
    ctx.print(
      [
        `name:       ${visible(details.name)}`,
        `size:       ${formatBytes(details.size)} (${details.size} bytes)`,
        `version:    ${details.id}`,
        `sha256:     ${details.sha256}`,
        `chunks:     ${formatChunks(details.size, details.chunkSize, details.chunkHashes.length)}`,
        ...(details.versions.length > 1
          ? [
            `versions:   ${details.versions.length}: ${
              details.versions.map((v) =>
                `${v.id.slice(0, 12)} ${formatBytes(v.size)} ${v.online}/${v.holders} online`
              ).join("; ")
            }`,
          ]
          : []),
        "",
        formatTable(
          ["PEER", "ADDRESS", "ONLINE", "HAS", "DOWNLOADS", "FAILURES"],
          details.peers.map((p) => [
            p.user,
            formatAddress(p.host, p.port),
            p.online ? "yes" : "no",
            holds(p),
            formatCount(p.downloads),
            formatCount(p.failures),
          ]),
          { right: [4, 5], ...tableStyle(ctx.colour ?? false, [2]) },
        ),
      ].join("\n"),
    );
  }
  return details;
}

/** What a holder has, for the `details` table: `all`, or a share like `42%` (`stalled` added). */
function holds(p: { complete?: boolean; progress?: number; stalled?: boolean }): string {
  if (p.complete ?? true) return "all";
  const share = `${Math.floor((p.progress ?? 0) * 100)}%`;
  return p.stalled ? `${share} stalled` : share;
}

/** `sessions`: the user's live sessions. */
export async function sessionsCommand(ctx: CommandContext): Promise<SessionInfo[]> {
  const sessions = await ctx.client.sessions(ctx.token);
  if (ctx.json) {
    ctx.print(JSON.stringify(sessions));
  } else {
    const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
    ctx.print(formatTable(
      ["ID", "AGENT", "SINCE (UTC)", "EXPIRES (UTC)", ""],
      sessions.map((s) => [
        s.id,
        s.agent ?? "",
        s.createdAt ? when(s.createdAt) : "",
        when(s.expiresAt),
        s.current ? "(in use)" : "",
      ]),
      tableStyle(ctx.colour ?? false),
    ));
  }
  return sessions;
}

/** `ping USER`. */
export async function pingCommand(
  ctx: CommandContext,
  user: string,
): Promise<{ user: string; online: boolean; rttMs: number | null }> {
  const where = await ctx.client.locate(ctx.token, user);
  const ping = await pingPeer(where.host, where.port, {
    ...(where.tls ? { tls: ctx.tls ?? {} } : {}),
  });
  const result = {
    user,
    online: ping.online,
    rttMs: ping.rttMs === null ? null : round(ping.rttMs),
  };
  if (ctx.json) ctx.print(JSON.stringify(result));
  else if (ping.online) {
    ctx.print(
      `${visible(user)} at ${formatAddress(where.host, where.port)} is ${
        paint("green", "online", ctx.colour ?? false)
      }: ${result.rttMs} ms`,
    );
  } else {
    ctx.print(
      `${visible(user)} at ${formatAddress(where.host, where.port)} is ${
        paint("red", "offline", ctx.colour ?? false)
      } (${visible(ping.error ?? "no answer")})`,
    );
  }
  return result;
}

/** Options of `get`. */
export interface GetOptions {
  /** Folder to save under. */
  outDir: string;
  /** Replace existing files. */
  force?: boolean;
  /** Show the ranking and every source decision. */
  explain?: boolean;
  /** Fetch every file under this folder (as well as the names given). */
  prefix?: string;
  /** Most sources per file. */
  sources?: number;
  /** Which version: a prefix of its id or SHA-256 (default: the one with most online holders). */
  version?: string;
  /** Shared download rate limit. */
  limiter?: RateLimiter;
  /** No progress line. */
  quiet?: boolean;
  /** Gives up a file stalled this long (0: never). Default 60 s. */
  stallTimeoutMs?: number;
  /** Where notes go (stderr in the CLI). */
  log?: (line: string) => void;
  /** Stops the downloads (verified chunks are kept). */
  signal?: AbortSignal;
  /** Serve verified chunks to other peers while downloading (a partial holder). */
  seat?: SwarmHost;
  /** With a seat: keep serving finished files until the seat closes. */
  seed?: boolean;
}

/** What `get` did for all the files it was asked for. */
export interface GetOutcome {
  /** Files downloaded. */
  files: DownloadResult[];
  /** Files that failed, with why. */
  failed: Array<{ name: string; error: string }>;
}

/** How many files `get` fetches at once (small files are latency-bound; this hides it). */
const PARALLEL_FILES = 8;

/** Tracker connections `get` uses for many files. */
const TRACKER_CONNECTIONS = 4;

/**
 * `get FILE... [--prefix DIR/]`: downloads each file (several at once, reusing connections and
 * pings), prints a line (or JSON) per file and a summary; never throws for one file's failure.
 */
export async function getCommand(
  ctx: CommandContext,
  names: string[],
  options: GetOptions,
): Promise<GetOutcome> {
  // Notes carry names and other peers' error messages: written out before they are printed.
  const log = (line: string) => options.log?.(visible(line));
  const wanted = [...names];
  if (options.prefix !== undefined) {
    const dir = options.prefix.replace(/\/+$/, "");
    const files = await ctx.client.list(ctx.token, {});
    const under = files.filter((f) => f.name.startsWith(`${dir}/`)).map((f) => f.name);
    if (under.length === 0) log(`no available files under ${dir}/`);
    for (const name of under) if (!wanted.includes(name)) wanted.push(name);
  }
  const progress = new ProgressLine({ quiet: options.quiet ?? false });
  using pool = new ConnectionPool(ctx.tls ? { tls: ctx.tls } : {});
  const outcome: GetOutcome = { files: [], failed: [] };
  const done = new Map<string, number>();
  const totals = new Map<string, number>();
  const stalled = new Map<string, number>();
  const running = new Set<string>();
  let active = 0;
  const label = () =>
    wanted.length === 1
      ? wanted[0]!
      : `${outcome.files.length + outcome.failed.length}/${wanted.length} files`;
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const note = (line: string) => progress.enabled ? progress.note(visible(line)) : log(line);

  const fetchOne = async (name: string, client: TrackerClient) => {
    running.add(name);
    try {
      const result = await fetchFile(client, ctx.token, name, {
        ...(options.version ? { version: options.version } : {}),
        ...(options.seat ? { seat: options.seat, seed: options.seed ?? false } : {}),
        onDetails: (details) => {
          const several = options.version ? undefined : versionsNote(details);
          if (several) note(several);
          totals.set(name, details.size);
        },
        onReportError: (source, error) =>
          note(`could not report on ${source}: ${error instanceof Error ? error.message : error}`),
        outDir: options.outDir,
        self: ctx.user,
        force: options.force ?? false,
        maxSources: options.sources ?? 4,
        pool,
        ...(options.limiter ? { limiter: options.limiter } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
        onProgress: (p) => {
          done.set(name, p.doneBytes);
          active = p.activeSources;
          if (p.stalledChunks !== undefined) stalled.set(name, p.stalledChunks);
          else stalled.delete(name);
          progress.update({
            label: label(),
            phase: p.phase,
            doneBytes: sum(done),
            totalBytes: sum(totals),
            sources: active,
            // The line is stalled while every file still running is.
            ...(stalled.size > 0 && stalled.size === running.size
              ? { stalledChunks: sum(stalled) }
              : {}),
          }, p.stalledChunks !== undefined);
        },
        onRanked: (ranked, unreachable) => {
          if (!options.explain) return;
          note(`${name}: ranking (score = rtt ms × 0.75^downloads × 1.25^failures, lowest first)`);
          ranked.forEach((c, i) =>
            note(
              `  ${i < (options.sources ?? 4) ? "use  " : "spare"} ${c.user}: rtt ${
                round(c.rttMs ?? 0)
              } ms, ${formatCount(c.downloads)} downloads, ${c.failures} failures → score ${
                round(c.score)
              }`,
            )
          );
          for (const c of unreachable) note(`  drop  ${c.user}: no answer to ping`);
        },
        onEvent: (line) => {
          if (options.explain || /^(dropped|stalled)/.test(line)) note(`${name}: ${line}`);
        },
      });
      done.set(name, result.size);
      outcome.files.push(result);
      progress.clear();
      if (!ctx.json) ctx.print(visible(describeDownload(result)));
    } catch (error) {
      options.signal?.throwIfAborted();
      const message = error instanceof Error ? error.message : String(error);
      outcome.failed.push({ name, error: message });
      progress.clear();
      if (single) singleError = error;
      else if (!ctx.json) log(`error: ${name}: ${message}`);
    } finally {
      running.delete(name);
      stalled.delete(name);
    }
  };

  const single = names.length === 1 && options.prefix === undefined;
  let singleError: unknown;
  // Many files: a few more tracker connections, so details and reports of files fetched side by
  // side do not queue behind each other on one connection.
  const clients = [ctx.client];
  const extra = wanted.length > 1 && ctx.openClient ? TRACKER_CONNECTIONS - 1 : 0;
  for (let i = 0; i < extra; i++) {
    try {
      clients.push(await ctx.openClient!());
    } catch {
      break; // one connection will do
    }
  }
  const queue = [...wanted];
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
    progress.clear();
    for (const client of clients.slice(1)) client.close();
  }
  // One file asked for by name: its failure is the command's error (one line, non-zero exit).
  if (singleError !== undefined) throw singleError;

  if (ctx.json) {
    const toJson = (r: DownloadResult) => ({
      name: r.name,
      path: r.path,
      size: r.size,
      sha256: r.sha256,
      sources: r.sources,
      seconds: round(r.seconds),
      fetchedBytes: r.fetchedBytes,
      reusedBytes: r.reusedBytes,
      perSource: Object.fromEntries(r.perSource.map((s) => [s.user, s.bytes])),
    });
    ctx.print(JSON.stringify(
      single && outcome.files[0]
        ? toJson(outcome.files[0])
        : { files: outcome.files.map(toJson), failed: outcome.failed },
    ));
  } else if (wanted.length > 1) {
    const bytes = outcome.files.reduce((a, r) => a + r.size, 0);
    ctx.print(visible(
      `${outcome.files.length} of ${wanted.length} files downloaded (${formatBytes(bytes)})${
        outcome.failed.length ? `; failed: ${outcome.failed.map((f) => f.name).join(", ")}` : ""
      }`,
    ));
  }
  return outcome;
}

/** One human line about a finished download: size, time, rate, each source's share. */
export function describeDownload(result: DownloadResult): string {
  const rate = result.seconds > 0
    ? `${formatBytes(result.fetchedBytes / result.seconds)}/s`
    : "instant";
  const delivered = result.perSource.filter((s) => s.bytes > 0);
  const percent = percentages(delivered.map((s) => s.bytes));
  const shares = delivered.map((s, i) => `${s.user} ${percent[i]}%`);
  const reused = result.reusedBytes > 0
    ? `, ${formatBytes(result.reusedBytes)} kept from an earlier run`
    : "";
  return `downloaded ${result.name} (${formatBytes(result.size)}) to ${result.path} in ${
    formatSeconds(result.seconds)
  }, ${rate}${shares.length ? ` from ${shares.join(", ")}` : ""}${reused}; SHA-256 verified`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
