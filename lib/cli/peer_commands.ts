/**
 * What each one-shot peer command does and prints, given a logged-in tracker client.
 * Shared by the command line and the interactive shell.
 *
 * @module
 */
import {
  downloadFile,
  type DownloadResult,
  formatAddress,
  pingPeer,
  type TrackerClient,
} from "../peer/mod.ts";
import type { FileDetails, FileSummary } from "../protocol/mod.ts";
import { formatBytes, formatSeconds, formatTable } from "./format.ts";

/** A logged-in context for commands. */
export interface CommandContext {
  /** The tracker connection. */
  client: TrackerClient;
  /** The session token. */
  token: string;
  /** Who is logged in. */
  user: string;
  /** Prints one line of output. */
  print: (text: string) => void;
  /** Whether to print JSON instead of text. */
  json: boolean;
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
        files.map(({ name, size, sha256, sources }) => ({ name, size, sha256, sources })),
      ),
    );
  } else if (files.length === 0) {
    ctx.print(options.search ? `no files match "${options.search}"` : "no files available");
  } else {
    ctx.print(formatTable(
      ["NAME", "SIZE", "SOURCES", "SHA-256"],
      files.map((f) => [f.name, formatBytes(f.size), String(f.sources), f.sha256.slice(0, 16)]),
      { right: [1, 2] },
    ));
  }
  return files;
}

/** `details FILE`. */
export async function detailsCommand(ctx: CommandContext, name: string): Promise<FileDetails> {
  const details = await ctx.client.details(ctx.token, name);
  if (ctx.json) {
    ctx.print(JSON.stringify({
      name: details.name,
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
      })),
    }));
  } else {
    ctx.print(
      [
        `name:       ${details.name}`,
        `size:       ${formatBytes(details.size)} (${details.size} bytes)`,
        `sha256:     ${details.sha256}`,
        `chunks:     ${details.chunkHashes.length} × ${formatBytes(details.chunkSize)}`,
        "",
        formatTable(
          ["PEER", "ADDRESS", "ONLINE", "DOWNLOADS", "FAILURES"],
          details.peers.map((p) => [
            p.user,
            formatAddress(p.host, p.port),
            p.online ? "yes" : "no",
            String(p.downloads),
            String(p.failures),
          ]),
          { right: [3, 4] },
        ),
      ].join("\n"),
    );
  }
  return details;
}

/** `ping USER`. */
export async function pingCommand(
  ctx: CommandContext,
  user: string,
): Promise<{ user: string; online: boolean; rttMs: number | null }> {
  const where = await ctx.client.locate(ctx.token, user);
  const ping = await pingPeer(where.host, where.port);
  const result = {
    user,
    online: ping.online,
    rttMs: ping.rttMs === null ? null : round(ping.rttMs),
  };
  if (ctx.json) ctx.print(JSON.stringify(result));
  else if (ping.online) {
    ctx.print(`${user} at ${formatAddress(where.host, where.port)} is online: ${result.rttMs} ms`);
  } else {
    ctx.print(
      `${user} at ${formatAddress(where.host, where.port)} is offline (${
        ping.error ?? "no answer"
      })`,
    );
  }
  return result;
}

/** `get FILE [--out DIR] [--force]`. */
export async function getCommand(
  ctx: CommandContext,
  name: string,
  options: { outDir: string; force?: boolean; explain?: boolean; log?: (line: string) => void },
): Promise<DownloadResult> {
  const details = await ctx.client.details(ctx.token, name);
  const log = options.log ?? (() => {});
  const result = await downloadFile(details, {
    outDir: options.outDir,
    self: ctx.user,
    force: options.force ?? false,
    onRanked: (ranked, unreachable) => {
      if (!options.explain) return;
      for (const c of ranked) {
        log(
          `source ${c.user}: rtt ${
            round(c.rttMs ?? 0)
          } ms, ${c.downloads} downloads, ${c.failures} failures → score ${round(c.score)}`,
        );
      }
      for (const c of unreachable) log(`source ${c.user}: no answer to ping, dropped`);
    },
    onReport: async (report) => {
      try {
        await ctx.client.report(ctx.token, {
          name: details.name,
          sha256: details.sha256,
          source: report.source,
          ok: report.ok,
          bytes: report.bytes,
          ...(report.reason ? { reason: report.reason } : {}),
        });
      } catch (error) {
        log(
          `could not report on ${report.source}: ${error instanceof Error ? error.message : error}`,
        );
      }
      if (!report.ok) log(`source ${report.source} failed (${report.reason}); trying the next`);
    },
  });
  if (ctx.json) {
    const { name, path, size, sha256, sources, seconds, fetchedBytes, reusedBytes } = result;
    ctx.print(JSON.stringify({
      name,
      path,
      size,
      sha256,
      sources,
      seconds: round(seconds),
      fetchedBytes,
      reusedBytes,
    }));
  } else {
    const rate = result.seconds > 0 ? `${formatBytes(result.size / result.seconds)}/s` : "instant";
    ctx.print(
      `downloaded ${result.name} (${formatBytes(result.size)}) to ${result.path} from ${
        result.sources.join(", ") || "nobody (empty file)"
      } in ${formatSeconds(result.seconds)}, ${rate}; SHA-256 verified`,
    );
  }
  return result;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
