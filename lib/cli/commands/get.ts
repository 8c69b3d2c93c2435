/**
 * `get FILE... [--prefix DIR/]`: downloads files from several peers at once, verified, serving
 * the verified chunks meanwhile. The fetching is `getFiles` in `lib/peer`; this module parses the
 * flags, starts the command line's own serving seat, and prints progress, notes and results.
 *
 * @module
 */
import {
  type DownloadResult,
  filesUnder,
  formatAddress,
  getFiles,
  type GetFilesOutcome,
  PeerError,
  RateLimiter,
  type SwarmHost,
  SwarmSeat,
} from "../../peer/mod.ts";
import { DOWNLOADS_DIR } from "../../protocol/mod.ts";
import { sleep } from "../../common/mod.ts";
import { CliError } from "../cli_error.ts";
import type { CommandContext } from "../command_context.ts";
import { STALLED_EXIT, USAGE_EXIT } from "../command_spec.ts";
import { describeError } from "../describe_error.ts";
import { parseRateOption, stringValue, versionOption, wholeNumberFlag } from "../flag_values.ts";
import { formatBytes, formatCount, formatRate, formatSeconds, percentages } from "../format.ts";
import { userPath } from "../paths.ts";
import {
  cliOutFlag,
  JSON_FLAG,
  SERVING_FLAGS,
  servingFlagValues,
  VERSION_FLAG,
} from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { ProgressLine } from "../progress.ts";
import { parseDuration, servingOptions } from "../serving_options.ts";
import { thousandths } from "../thousandths.ts";
import { visible } from "../visible.ts";
import { FilesProgress } from "../files_progress.ts";
import { versionsNote } from "./details.ts";

/** Most sources per file unless `--sources` says otherwise. */
const DEFAULT_SOURCES = 4;

/** `get`. */
export const getCommand: PeerCommand = {
  name: "get",
  summary: "download files from several peers at once, verified",
  usage:
    "FILE... [--prefix DIR/] [--out DIR] [--force] [--sources N] [--version PREFIX] [--max-rate RATE] [--stall-timeout DURATION] [--explain] [--quiet]",
  positionals: { name: "FILE", min: 0, max: Infinity },
  completes: "files",
  flags: {
    out: cliOutFlag(`where to save (default ./${DOWNLOADS_DIR})`),
    prefix: { type: "string", value: "DIR/", help: "also fetch every file under DIR/" },
    force: { type: "boolean", help: "replace files that exist" },
    sources: {
      type: "string",
      value: "N",
      help: `most peers per file (default ${DEFAULT_SOURCES})`,
    },
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
  sandboxed: true,
  cancellable: { cancelled: "verified chunks are kept; run it again to resume" },
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
    const outDir = stringValue(values.out) ?? host.shell?.outDir ?? userPath(DOWNLOADS_DIR);
    const sources = wholeNumberFlag(
      stringValue(values.sources) ?? String(DEFAULT_SOURCES),
      "--sources",
      1,
      64,
    );
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
        ...(await servingOptions(servingFlagValues(values))),
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
    let outcome: GetFilesOutcome | undefined;
    try {
      outcome = await runGet(ctx, positionals, {
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
        await sleep(seedForMs, host.signal);
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
};

/** Options of {@link runGet}. */
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

/**
 * Fetches each file named (and every file under `prefix`) with `getFiles`, showing one progress
 * line for them all, and prints a line (or JSON) per file and a summary. One file asked for by
 * name: its failure is the error this throws; with several, failures are in the outcome.
 */
export async function runGet(
  ctx: CommandContext,
  names: string[],
  options: GetOptions,
): Promise<GetFilesOutcome> {
  // Notes carry names and other peers' error messages: written out before they are printed.
  const log = (line: string) => options.log?.(visible(line));
  const wanted = [...names];
  if (options.prefix !== undefined) {
    const under = await filesUnder(ctx.client, ctx.token, options.prefix);
    if (under.length === 0) log(`no available files under ${options.prefix.replace(/\/+$/, "")}/`);
    for (const name of under) if (!wanted.includes(name)) wanted.push(name);
  }
  const single = names.length === 1 && options.prefix === undefined;
  let singleError: unknown;
  const progress = new ProgressLine({ quiet: options.quiet ?? false });
  const files = new FilesProgress(wanted);
  const note = (line: string) => progress.enabled ? progress.note(visible(line)) : log(line);
  const ended = (name: string, bytes?: number) => {
    files.ended(name, bytes);
    progress.clear();
  };
  const maxSources = options.sources ?? DEFAULT_SOURCES;

  let outcome: GetFilesOutcome;
  try {
    outcome = await getFiles(ctx.client, ctx.token, wanted, {
      ...(options.version ? { version: options.version } : {}),
      ...(options.seat ? { seat: options.seat, seed: options.seed ?? false } : {}),
      outDir: options.outDir,
      self: ctx.user,
      force: options.force ?? false,
      maxSources,
      ...(ctx.tls ? { tls: ctx.tls } : {}),
      ...(ctx.openClient ? { openClient: ctx.openClient } : {}),
      ...(options.limiter ? { limiter: options.limiter } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
      hooks: (name) => {
        files.started(name);
        return {
          onDetails: (details) => {
            const several = options.version ? undefined : versionsNote(details);
            if (several) note(several);
            files.sized(name, details.size);
          },
          onReportError: (source, error) =>
            note(
              `could not report on ${source}: ${error instanceof Error ? error.message : error}`,
            ),
          onProgress: (p) => progress.update(files.update(name, p), p.stalledChunks !== undefined),
          onRanked: (ranked, unreachable) => {
            if (!options.explain) return;
            note(
              `${name}: ranking (score = rtt ms × 0.75^downloads × 1.25^failures, lowest first)`,
            );
            ranked.forEach((c, i) =>
              note(
                `  ${i < maxSources ? "use  " : "spare"} ${c.user}: rtt ${
                  thousandths(c.rttMs ?? 0)
                } ms, ${formatCount(c.downloads)} downloads, ${c.failures} failures → score ${
                  thousandths(c.score)
                }`,
              )
            );
            for (const c of unreachable) note(`  drop  ${c.user}: no answer to ping`);
          },
          onEvent: (line) => {
            if (options.explain || /^(dropped|stalled)/.test(line)) note(`${name}: ${line}`);
          },
        };
      },
      onDone: (result, name) => {
        ended(name, result.size);
        if (!ctx.json) ctx.print(visible(describeDownload(result)));
      },
      onFailed: (name, error) => {
        ended(name);
        if (single) singleError = error;
        else if (!ctx.json) {
          log(`error: ${name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      },
    });
  } finally {
    progress.clear();
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
      seconds: thousandths(r.seconds),
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
  const rate = result.seconds > 0 ? formatRate(result.fetchedBytes / result.seconds) : "instant";
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
