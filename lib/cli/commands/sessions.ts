/**
 * `sessions`: the user's live sessions, where and until when.
 *
 * @module
 */
import type { SessionInfo } from "../../protocol/mod.ts";
import type { CommandContext } from "../command_context.ts";
import { formatTable } from "../format.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { tableStyle } from "../table_style.ts";

/** `sessions`. */
export const sessionsCommand: PeerCommand = {
  name: "sessions",
  summary: "your live sessions",
  usage: "",
  positionals: { name: "", min: 0, max: 0 },
  flags: { json: JSON_FLAG },
  help: "Lists your live sessions: where you are logged in, since when, until when.",
  examples: ["sessions --json"],
  needsLogin: true,
  modes: ["cli", "shell"],
  async run({ host }) {
    await runSessions(await host.login());
    return 0;
  },
};

/** Asks the tracker for the user's live sessions and prints them as a table or JSON. */
export async function runSessions(ctx: CommandContext): Promise<SessionInfo[]> {
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
