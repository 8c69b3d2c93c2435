/**
 * `details FILE [--version PREFIX]`: size, hashes and every holder of a file, and its versions.
 *
 * @module
 */
import { formatAddress } from "../../peer/mod.ts";
import type { FileDetails } from "../../protocol/mod.ts";
import type { CommandContext } from "../command_context.ts";
import { versionOption } from "../flag_values.ts";
import { formatBytes, formatChunks, formatCount, formatTable } from "../format.ts";
import { JSON_FLAG, VERSION_FLAG } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { tableStyle } from "../table_style.ts";
import { visible } from "../visible.ts";

/** `details`. */
export const detailsCommand: PeerCommand = {
  name: "details",
  summary: "size, hashes and holders of a file",
  usage: "FILE [--version PREFIX]",
  positionals: { name: "FILE", min: 1, max: 1 },
  completes: "files",
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
    await runDetails(ctx, positionals[0]!, {
      ...version,
      log: (line) => host.log(line),
    });
    return 0;
  },
};

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

/** Asks the tracker for a file's details and prints them (a table of holders, or JSON). */
export async function runDetails(
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
