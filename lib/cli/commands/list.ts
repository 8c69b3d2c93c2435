/**
 * `list [TEXT] [--search TEXT] [--all]`: the files available, one row per version.
 *
 * @module
 */
import type { FileSummary } from "../../protocol/mod.ts";
import type { CommandContext } from "../command_context.ts";
import { stringValue } from "../flag_values.ts";
import { formatBytes, formatTable } from "../format.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { tableStyle } from "../table_style.ts";
import { visible } from "../visible.ts";

/** `list`. */
export const listCommand: PeerCommand = {
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
    await runList(ctx, { ...(search !== undefined ? { search } : {}), all: !!values.all });
    return 0;
  },
};

/** Asks the tracker for the files (matching `search`) and prints them as a table or JSON. */
export async function runList(
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
